// Errors that travel from the engine to the CLI, which prints one line and picks the exit code.
// InputError: something the user handed over (file, config, flag) is wrong -> exit 2.
// Anything else derived from std::exception is a runtime failure -> exit 1.
#pragma once

#include <stdexcept>
#include <string>

namespace hdr {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hdr

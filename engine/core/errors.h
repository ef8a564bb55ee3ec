// Errors that travel from the engine to the CLI, which prints one line and picks the exit code
// (exit_status_of):
//   InputError          something the user handed over (file, config, flag) is wrong -> exit 2
//   CollectiveTimeout   a data-parallel rank waited past [train] collective_timeout for the
//                       others -> exit 3, as the collective watchdog ends a rank
//   anything else derived from std::exception is a runtime failure -> exit 1.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace hdr {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kCollectiveTimeoutExit = 3;

class CollectiveTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline int exit_status_of(const std::exception& e) {
  if (dynamic_cast<const InputError*>(&e)) return 2;
  if (dynamic_cast<const CollectiveTimeout*>(&e)) return kCollectiveTimeoutExit;
  return 1;
}

}  // namespace hdr

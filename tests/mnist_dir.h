// Where the tests read MNIST: data/mnist (where users fetch it; tests run from the source root),
// or the folder HDR_TEST_MNIST_DIR names. tests/CMakeLists.txt points it at a missing folder to
// check that a broken set-up fails the tests that need the data instead of skipping them.
#pragma once

#include <cstdlib>
#include <string>

namespace hdr::test {

inline std::string mnist_dir() {
  const char* dir = std::getenv("HDR_TEST_MNIST_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "data/mnist";
}

}  // namespace hdr::test

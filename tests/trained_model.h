// The trained model the e2e tests share: seed 004's tutorial CNN, one epoch on all 60,000
// training images (about 98% on the MNIST test set). CTest trains it once per run, before the
// tests that need it (fixture.train_tutorial_model in tests/CMakeLists.txt, the one place the
// recipe is written); a test binary run by hand uses what the last ctest run left there.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace hdr::test {

inline std::filesystem::path tutorial_model() {
  const std::filesystem::path path = HDR_TUTORIAL_MODEL;
  if (!std::filesystem::is_regular_file(path))
    throw std::runtime_error(path.string() + " is missing: run the tests through ctest, or first: "
                                             "ctest -R fixture.train_tutorial_model");
  return path;
}

}  // namespace hdr::test

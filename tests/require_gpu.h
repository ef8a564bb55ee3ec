// The one way a test asks for a GPU. Without a usable one the test is skipped (CTest: SKIPPED,
// never counted as a pass), unless HDR_EXPECT_GPU=1 says that this machine has one: then the
// missing GPU is a failure, so that a broken driver or a build without CUDA cannot turn a GPU
// machine's run into a green row of skips. tests/CMakeLists.txt checks that it does.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/backends/gpu_probe.h"

namespace hdr::test {

// Empty when GPU 0 is usable from this build; else why not.
inline std::string no_gpu_reason() {
  const GpuProbe p = probe_gpus();
  if (!p.built_with_cuda) return "no CUDA in this build: " + p.why_none;
  if (p.devices.empty()) return p.why_none;
  return "";
}

inline bool gpu_expected() {
  const char* value = std::getenv("HDR_EXPECT_GPU");
  return value != nullptr && std::string_view(value) == "1";
}

}  // namespace hdr::test

// Skips the calling test without a usable GPU; fails it instead under HDR_EXPECT_GPU=1.
#define HDR_REQUIRE_GPU()                                                              \
  do {                                                                                 \
    if (const std::string why = ::hdr::test::no_gpu_reason(); !why.empty()) {          \
      if (::hdr::test::gpu_expected()) GTEST_FAIL() << "HDR_EXPECT_GPU=1 but " << why; \
      GTEST_SKIP() << "needs a usable GPU: " << why;                                   \
    }                                                                                  \
  } while (0)

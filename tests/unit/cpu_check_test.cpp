// The start-up check that the CPU has what the CPU kernels were compiled for.
#include "engine/backends/cpu_check.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace hdr {
namespace {

TEST(CpuCheck, TheMachineThatBuiltTheTestsRunsThem) { EXPECT_EQ(cpu_kernel_mismatch(), ""); }

TEST(CpuCheck, NamesEveryMissingFeatureTheArchAndTheRebuild) {
  const char* const features[] = {"avx2", "fma", "avx512f", "avx512bw", nullptr};
  const std::string message = cpu_feature_mismatch(features, "native", [](std::string_view f) {
    return f == "avx2" || f == "fma";  // an AVX2 machine running an AVX-512 build
  });
  EXPECT_NE(message.find("-march=native"), std::string::npos) << message;
  EXPECT_NE(message.find("avx512f, avx512bw"), std::string::npos) << message;
  EXPECT_EQ(message.find("avx2"), std::string::npos) << message;
  EXPECT_NE(message.find("-DHDR_MARCH=x86-64-v3"), std::string::npos) << message;
}

TEST(CpuCheck, NothingMissingIsNoMessage) {
  const char* const features[] = {"avx2", "fma", nullptr};
  EXPECT_EQ(cpu_feature_mismatch(features, "x86-64-v3", [](std::string_view) { return true; }), "");
}

}  // namespace
}  // namespace hdr

// The shared result checker: tolerances, NaN handling, size mismatch, the message.
#include "engine/verify/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace hdr {
namespace {

TEST(Compare, WithinAbsoluteAndRelativeTolerance) {
  const std::vector<float> want{1.0f, 100.0f, 0.0f};
  const std::vector<float> got{1.00001f, 100.009f, 1e-6f};
  EXPECT_TRUE(compare(got, want, {1e-5, 1e-4}).ok());
}

TEST(Compare, ReportsTheFirstMismatchesAndWorstError) {
  const std::vector<float> want{1, 2, 3, 4};
  const std::vector<float> got{1, 2.5f, 3, 3};
  const Comparison c = compare(got, want, {1e-6, 1e-6});
  EXPECT_EQ(c.mismatches, 2u);
  EXPECT_DOUBLE_EQ(c.max_abs_error, 1.0);
  EXPECT_NE(c.summary().find("[1] got 2.5 want 2"), std::string::npos) << c.summary();
  EXPECT_NE(c.summary().find("[3] got 3 want 4"), std::string::npos) << c.summary();
}

// Also NaN on both sides: a kernel and its reference that both read poison (kernels/simt_host.h)
// must not agree.
TEST(Compare, NanAnywhereIsAMismatch) {
  const float nan = std::nanf("");
  EXPECT_FALSE(compare(std::vector<float>{nan}, std::vector<float>{1.0f}).ok());
  EXPECT_FALSE(compare(std::vector<float>{1.0f}, std::vector<float>{nan}).ok());
  const Comparison both = compare(std::vector<float>{1.0f, nan}, std::vector<float>{1.0f, nan});
  EXPECT_EQ(both.mismatches, 1u);
  EXPECT_NE(both.summary().find("[1] got nan want nan"), std::string::npos) << both.summary();
}

TEST(Compare, EqualInfinitiesMatch) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(compare(std::vector<float>{inf, -inf}, std::vector<float>{inf, -inf}).ok());
  EXPECT_FALSE(compare(std::vector<float>{inf}, std::vector<float>{-inf}).ok());
}

TEST(Compare, DifferentSizesFail) {
  const Comparison c = compare(std::vector<float>{1, 2}, std::vector<float>{1, 2, 3});
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.summary().find("sizes differ"), std::string::npos);
}

}  // namespace
}  // namespace hdr

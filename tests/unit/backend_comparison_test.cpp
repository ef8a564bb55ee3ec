// The backend comparison catalogue (engine/verify/backend_comparison.h) without a GPU: every entry
// between two CPU backends, so that its code (inputs on both sides, layouts in and out, the
// training steps) runs in CI and not first on a GPU machine; and the checker fails what it must.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/verify/backend_comparison.h"

namespace hdr {
namespace {

class CpuAgainstCpu : public testing::TestWithParam<ComparisonCase> {};

TEST_P(CpuAgainstCpu, Matches) {
  auto tested = make_cpu_backend(1), reference = make_cpu_backend(1);
  BackendComparison t(*tested, *reference, nullptr);
  run_comparison(GetParam(), t);
  EXPECT_GT(t.checks(), 0);
  for (const std::string& f : t.failures()) ADD_FAILURE() << f;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, CpuAgainstCpu, testing::ValuesIn(comparison_cases()),
                         [](const testing::TestParamInfo<ComparisonCase>& p) { return std::string(p.param.name); });

TEST(BackendComparison, OutputsOutsideTheToleranceAreFailuresNamingTheOp) {
  auto a = make_cpu_backend(1), b = make_cpu_backend(1);
  BackendComparison t(*a, *b, nullptr);
  t.check_values("scale", "y", {1.0f, 2.0f, 3.0f}, {1.0f, 2.0f, 3.0f}, kExact);
  t.check_values("scale", "y", {1.0f, 2.0f, 3.001f}, {1.0f, 2.0f, 3.0f}, kElementwise);
  EXPECT_EQ(t.checks(), 2);
  ASSERT_EQ(t.failures().size(), 1u);
  EXPECT_EQ(t.failures()[0].rfind("scale y: ", 0), 0u) << t.failures()[0];
}

// A model's gradients: a small parameter group zeroed on the tested side. One atol from the
// largest value of all gradients (1e-4 x 1000) lets it pass; checked tensor by tensor it fails.
TEST(BackendComparison, EachGradientTensorIsCheckedAtItsOwnScale) {
  auto a = make_cpu_backend(1), b = make_cpu_backend(1);
  const std::vector<NamedTensor> want{{"conv1.kernel", {3}, {1000.0f, -800.0f, 500.0f}},
                                      {"bn1.gamma", {2}, {0.002f, -0.001f}}};
  std::vector<NamedTensor> got = want;
  got[1].data = {0.0f, 0.0f};

  BackendComparison whole(*a, *b, nullptr);
  whole.check_values("step 1", "gradients", {1000.0f, -800.0f, 500.0f, 0.0f, 0.0f},
                     {1000.0f, -800.0f, 500.0f, 0.002f, -0.001f}, kModelStep);
  EXPECT_TRUE(whole.failures().empty());

  BackendComparison t(*a, *b, nullptr);
  t.check_tensors("step 1", "gradient", got, want, kModelStep);
  EXPECT_EQ(t.checks(), 2);
  ASSERT_EQ(t.failures().size(), 1u);
  EXPECT_EQ(t.failures()[0].rfind("step 1 bn1.gamma gradient: ", 0), 0u) << t.failures()[0];

  BackendComparison renamed(*a, *b, nullptr);
  got = want;
  got[0].name = "conv2.kernel";
  renamed.check_tensors("step 1", "gradient", got, want, kModelStep);
  EXPECT_EQ(renamed.failures().size(), 1u);
}

TEST(BackendComparison, CatalogueNamesAreUniqueTestNames) {
  std::vector<std::string> names;
  for (const ComparisonCase& c : comparison_cases()) {
    const std::string name = c.name;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 0) << name;
    names.push_back(name);
  }
  EXPECT_EQ(names.size(), 13u);
}

}  // namespace
}  // namespace hdr

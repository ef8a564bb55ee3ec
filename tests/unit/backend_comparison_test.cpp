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

TEST(BackendComparison, CatalogueNamesAreUniqueTestNames) {
  std::vector<std::string> names;
  for (const ComparisonCase& c : comparison_cases()) {
    const std::string name = c.name;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 0) << name;
    names.push_back(name);
  }
  EXPECT_EQ(names.size(), 12u);
}

}  // namespace
}  // namespace hdr

// Helpers shared by the kernel tests: central finite differences of a double-precision loss, and
// an element-wise closeness check that names the first mismatches. Gradients from the float
// kernels are checked against finite differences of a plain double reference, so the numeric
// side carries no float rounding.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace hdr::test {

// d loss / d point[i] by central differences; point is restored after each entry.
inline std::vector<double> numeric_gradient(std::vector<double>& point, const std::function<double()>& loss,
                                            double step = 1e-5) {
  std::vector<double> grad(point.size());
  for (size_t i = 0; i < point.size(); ++i) {
    const double saved = point[i];
    point[i] = saved + step;
    const double up = loss();
    point[i] = saved - step;
    const double down = loss();
    point[i] = saved;
    grad[i] = (up - down) / (2.0 * step);
  }
  return grad;
}

// Success when |actual[i] - expected[i]| <= atol + rtol * |expected[i]| for every i (NaN fails);
// otherwise lists the first few mismatches and how many there are.
template <class Actual, class Expected>
::testing::AssertionResult all_close(std::string_view what, const Actual& actual, const Expected& expected, double atol,
                                     double rtol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << what << ": size " << actual.size() << " != " << expected.size();
  std::string report;
  size_t mismatches = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = double(actual[i]), e = double(expected[i]);
    if (std::abs(a - e) <= atol + rtol * std::abs(e)) continue;
    if (++mismatches <= 5) report += fmt::format("\n  [{}] got {:.9g}, expected {:.9g}", i, a, e);
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << fmt::format("{}: {} of {} values differ (atol {}, rtol {}){}", what,
                                                      mismatches, actual.size(), atol, rtol, report);
}

}  // namespace hdr::test

#include "engine/verify/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hdr {

Comparison compare(std::span<const float> got, std::span<const float> want, Tolerance tol) {
  Comparison c;
  c.count = std::min(got.size(), want.size());
  if (got.size() != want.size()) {
    c.mismatches = std::max(got.size(), want.size()) - c.count;
    c.first_mismatches = fmt::format("sizes differ: got {} values, want {}; ", got.size(), want.size());
  }
  int listed = 0;
  for (size_t i = 0; i < c.count; ++i) {
    const double g = got[i], w = want[i];
    const double abs_error = std::fabs(g - w);
    const double rel_error = abs_error / std::max(std::fabs(w), 1e-30);
    // NaN on either side fails both tests; equal infinities pass the first, and no other pair
    // with an infinity passes the second.
    const bool bad = !(g == w || (std::isfinite(abs_error) && abs_error <= tol.atol + tol.rtol * std::fabs(w)));
    if (std::isfinite(abs_error)) {
      c.max_abs_error = std::max(c.max_abs_error, abs_error);
      if (abs_error > tol.atol) c.max_rel_error = std::max(c.max_rel_error, rel_error);
    }
    if (bad) {
      ++c.mismatches;
      if (listed++ < 5) c.first_mismatches += fmt::format("[{}] got {} want {}; ", i, g, w);
    }
  }
  return c;
}

std::string Comparison::summary() const {
  std::string s = fmt::format("{} values, {} mismatches, max abs error {:.3g}, max rel error {:.3g}", count, mismatches,
                              max_abs_error, max_rel_error);
  if (!first_mismatches.empty()) s += ": " + first_mismatches.substr(0, first_mismatches.size() - 2);
  return s;
}

}  // namespace hdr

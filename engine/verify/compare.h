// The one result checker shared by tests, `hdr selftest` and benchmarks: element-wise
// |got - want| <= atol + rtol * |want|, with the worst errors and the first mismatches kept
// for the message. NaN anywhere is a mismatch.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace hdr {

struct Tolerance {
  double atol = 1e-5, rtol = 1e-4;
};

struct Comparison {
  size_t count = 0, mismatches = 0;
  double max_abs_error = 0, max_rel_error = 0;
  std::string first_mismatches;  // "[12] got 0.5 want 0.25; ..." (at most 5)
  bool ok() const { return mismatches == 0; }
  std::string summary() const;  // one line: counts, worst errors, first mismatches
};

Comparison compare(std::span<const float> got, std::span<const float> want, Tolerance tol = {});

}  // namespace hdr

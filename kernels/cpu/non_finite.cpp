// CPU twin of count_non_finite (kernels/non_finite.cu).
#include <cmath>

#include "kernels/ops.h"

namespace hdr::cpu {

int64_t count_non_finite(const float* values, int64_t count) {
  int64_t bad = 0;
#pragma omp parallel for reduction(+ : bad) schedule(static)
  for (int64_t i = 0; i < count; ++i) bad += std::isfinite(values[i]) ? 0 : 1;
  return bad;
}

}  // namespace hdr::cpu

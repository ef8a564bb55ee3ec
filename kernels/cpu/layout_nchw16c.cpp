// Plain NCHW <-> nChw16c conversions (see nchw16c.h): one OpenMP iteration per (n, channel
// block); the inner loop transposes a 16 x spatial tile.
#include "kernels/cpu/nchw16c.h"

namespace hdr::cpu::nchw16c {

void from_nchw(int n, int c, int64_t spatial, const float* plain, float* blocked) {
  const int blocks = c / 16;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < n; ++i)
    for (int b = 0; b < blocks; ++b) {
      const float* src = plain + (int64_t(i) * c + b * 16) * spatial;
      float* dst = blocked + (int64_t(i) * blocks + b) * spatial * 16;
      for (int64_t s = 0; s < spatial; ++s)
#pragma omp simd
        for (int l = 0; l < 16; ++l) dst[s * 16 + l] = src[l * spatial + s];
    }
}

void to_nchw(int n, int c, int64_t spatial, const float* blocked, float* plain) {
  const int blocks = c / 16;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < n; ++i)
    for (int b = 0; b < blocks; ++b) {
      const float* src = blocked + (int64_t(i) * blocks + b) * spatial * 16;
      float* dst = plain + (int64_t(i) * c + b * 16) * spatial;
      for (int l = 0; l < 16; ++l)
#pragma omp simd
        for (int64_t s = 0; s < spatial; ++s) dst[l * spatial + s] = src[s * 16 + l];
    }
}

}  // namespace hdr::cpu::nchw16c

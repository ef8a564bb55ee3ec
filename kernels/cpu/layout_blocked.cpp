// Plain NCHW <-> blocked conversions (see blocked.h): one OpenMP iteration per (n, channel
// block); the inner loop transposes a kBlock x spatial tile.
#include "kernels/cpu/blocked.h"

namespace hdr::cpu::blocked {

template <int kBlock>
void Reorder<kBlock>::from_nchw(int n, int c, int64_t spatial, const float* plain, float* blocked) {
  const int blocks = c / kBlock;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < n; ++i)
    for (int b = 0; b < blocks; ++b) {
      const float* src = plain + (int64_t(i) * c + b * kBlock) * spatial;
      float* dst = blocked + (int64_t(i) * blocks + b) * spatial * kBlock;
      for (int64_t s = 0; s < spatial; ++s)
#pragma omp simd
        for (int l = 0; l < kBlock; ++l) dst[s * kBlock + l] = src[l * spatial + s];
    }
}

template <int kBlock>
void Reorder<kBlock>::to_nchw(int n, int c, int64_t spatial, const float* blocked, float* plain) {
  const int blocks = c / kBlock;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < n; ++i)
    for (int b = 0; b < blocks; ++b) {
      const float* src = blocked + (int64_t(i) * blocks + b) * spatial * kBlock;
      float* dst = plain + (int64_t(i) * c + b * kBlock) * spatial;
      for (int l = 0; l < kBlock; ++l)
#pragma omp simd
        for (int64_t s = 0; s < spatial; ++s) dst[l * spatial + s] = src[s * kBlock + l];
    }
}

template struct Reorder<8>;
template struct Reorder<16>;

}  // namespace hdr::cpu::blocked

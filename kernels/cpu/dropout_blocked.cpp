// Dropout on blocked tensors (see blocked.h): the mask is dropout.cuh's, keyed by the logical
// index j = c * spatial + s, so it is bit for bit the NCHW mask whatever the layout. Each sample
// is walked block by block of kBlock channels: first the block's keep factors in logical order
// (kernels/cpu/dropout_factors.h), then the block's values in memory order, each position's
// factors gathered from its kBlock channels.
#include <cstring>
#include <vector>

#include "kernels/cpu/blocked.h"
#include "kernels/cpu/dropout_factors.h"

namespace hdr::cpu::blocked {
namespace {

template <int kLanes>
void masked_scale(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial, const float* in,
                  float* out) {
  const int64_t per_sample = int64_t(c) * spatial, per_block = kLanes * spatial;
  if (dropout_is_copy(rate)) {
    if (in != out) std::memcpy(out, in, size_t(n * per_sample) * sizeof(float));
    return;
  }
  constexpr int kWidth = block_vector_lanes(kLanes);
  using V = Lanes<kWidth>;
#pragma omp parallel
  {
    std::vector<float> factor(static_cast<size_t>(per_block));  // one block's, in logical order: [lane][s]
#pragma omp for schedule(static)
    for (int i = 0; i < n; ++i) {
      const uint32_t sample = uint32_t(first_sample + i);
      for (int b = 0; b < c / kLanes; ++b) {
        // A block's values are logical indices [b * per_block, (b + 1) * per_block): whole groups.
        dropout_factors(rate, key, sample, uint32_t(b * per_block / 4), per_block / 4, factor.data());
        const int64_t base = int64_t(i) * per_sample + b * per_block;
        for (int64_t s = 0; s < spatial; ++s)
          for (int part = 0; part < kLanes / kWidth; ++part) {
            typename V::F f;  // the factors of the part's lanes at s, spatial apart in logical order
            for (int l = 0; l < kWidth; ++l) f[l] = factor[size_t((part * kWidth + l) * spatial + s)];
            const int64_t at = base + s * kLanes + part * kWidth;
            V::store(out + at, dropout_by_factor(V::load(in + at), f));
          }
      }
    }
  }
}

}  // namespace

template <int kBlock>
void Dropout<kBlock>::forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                              const float* x, float* y) {
  masked_scale<kBlock>(rate, key, first_sample, n, c, spatial, x, y);
}

template <int kBlock>
void Dropout<kBlock>::backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                               const float* dy, float* dx) {
  masked_scale<kBlock>(rate, key, first_sample, n, c, spatial, dy, dx);
}

template struct Dropout<8>;
template struct Dropout<16>;

}  // namespace hdr::cpu::blocked

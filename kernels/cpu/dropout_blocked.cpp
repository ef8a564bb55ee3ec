// Dropout's forward on blocked tensors (see blocked.h): the mask is dropout.cuh's, keyed by the
// logical index j = c * spatial + s, so it is bit for bit the NCHW mask whatever the layout. Each
// sample is walked block by block of kBlock channels: first the block's keep factors in logical
// order (kernels/cpu/dropout_factors.h), then the block's values in memory order, each position's
// factors gathered from its kBlock channels, and their keep bits in memory order too, for the one
// backward of every layout (cpu::dropout_backward).
#include <cstring>
#include <vector>

#include "kernels/cpu/blocked.h"
#include "kernels/cpu/dropout_factors.h"

namespace hdr::cpu::blocked {

template <int kBlock>
void Dropout<kBlock>::forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                              const float* x, float* y, uint8_t* keep_bits) {
  const int64_t per_sample = int64_t(c) * spatial, per_block = kBlock * spatial;
  if (dropout_is_copy(rate)) {
    if (x != y) std::memcpy(y, x, size_t(n * per_sample) * sizeof(float));
    return;
  }
  constexpr int kWidth = block_vector_lanes(kBlock);
  using V = Lanes<kWidth>;
  const int64_t row = dropout_keep_row_bytes(per_sample);
#pragma omp parallel
  {
    std::vector<float> factor(static_cast<size_t>(per_block));  // one block's, in logical order: [lane][s]
#pragma omp for schedule(static)
    for (int i = 0; i < n; ++i) {
      const uint32_t sample = uint32_t(first_sample + i);
      for (int b = 0; b < c / kBlock; ++b) {
        // A block's values are logical indices [b * per_block, (b + 1) * per_block): whole groups.
        dropout_factors(rate, key, sample, uint32_t(b * per_block / 4), per_block / 4, factor.data());
        const int64_t base = b * per_block;  // in the sample, in memory order
        for (int64_t s = 0; s < spatial; ++s)
          for (int part = 0; part < kBlock / kWidth; ++part) {
            typename V::F f;  // the factors of the part's lanes at s, spatial apart in logical order
            for (int l = 0; l < kWidth; ++l) f[l] = factor[size_t((part * kWidth + l) * spatial + s)];
            const int64_t at = base + s * kBlock + part * kWidth;
            V::store(y + i * per_sample + at, dropout_by_factor(V::load(x + i * per_sample + at), f));
            store_kept<kWidth>(f, keep_bits + i * row + at / 8);
          }
      }
    }
  }
}

template struct Dropout<8>;
template struct Dropout<16>;

}  // namespace hdr::cpu::blocked

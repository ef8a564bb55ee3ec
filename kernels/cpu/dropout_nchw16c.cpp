// Dropout on nChw16c tensors (see nchw16c.h): the mask is dropout.cuh's, keyed by the logical
// index j = c * spatial + s, so it is bit for bit the NCHW mask whatever the layout. Each sample
// is walked in logical order in chunks: first the chunk's keep factors (one Philox call per
// four values, a loop that vectorises across groups as in the NCHW twin), then each factor
// applied at its value's blocked address.
#include <cstring>

#include "kernels/cpu/nchw16c.h"
#include "kernels/dropout.cuh"

namespace hdr::cpu::nchw16c {
namespace {

constexpr int64_t kChunk = 1024;  // values per chunk: a multiple of 4, 4 KiB of factors

void masked_scale(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial, const float* in,
                  float* out) {
  const int64_t per_sample = int64_t(c) * spatial;
  if (dropout_is_copy(rate)) {
    if (in != out) std::memcpy(out, in, size_t(n * per_sample) * sizeof(float));
    return;
  }
  const float scale = dropout_scale(rate);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; ++i) {
    const uint32_t sample = uint32_t(first_sample + i);
    const int64_t base = int64_t(i) * per_sample;
    float factor[kChunk];
    int channel = 0;
    int64_t s = 0;  // (channel, s): the logical position of the chunk's next value
    for (int64_t start = 0; start < per_sample; start += kChunk) {
      const int64_t count = per_sample - start < kChunk ? per_sample - start : kChunk;
      const uint32_t first_group = uint32_t(start / 4);
      for (int64_t g = 0; g < (count + 3) / 4; ++g) {
        const Philox4 words = dropout_words(key, sample, first_group + uint32_t(g));
        for (int k = 0; k < 4; ++k) factor[4 * g + k] = dropout_apply(rate, scale, words.v[k], 1.0f);
      }
      for (int64_t k = 0; k < count;) {  // runs of one channel: its values sit 16 floats apart
        const int64_t run = spatial - s < count - k ? spatial - s : count - k;
        const int64_t at = base + (int64_t(channel / 16) * spatial + s) * 16 + channel % 16;
        for (int64_t r = 0; r < run; ++r) out[at + 16 * r] = in[at + 16 * r] * factor[k + r];
        k += run;
        s += run;
        if (s == spatial) {
          s = 0;
          ++channel;
        }
      }
    }
  }
}

}  // namespace

void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial, const float* x,
                     float* y) {
  masked_scale(rate, key, first_sample, n, c, spatial, x, y);
}

void dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                      const float* dy, float* dx) {
  masked_scale(rate, key, first_sample, n, c, spatial, dy, dx);
}

}  // namespace hdr::cpu::nchw16c

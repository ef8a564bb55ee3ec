// Dropout on nChw16c tensors (see nchw16c.h): the mask is dropout.cuh's, keyed by the logical
// index j = c * spatial + s, so it is bit for bit the NCHW mask whatever the layout. The loop
// walks j in logical order (one Philox call per four) and writes each value to its blocked
// address.
#include <cstring>

#include "kernels/cpu/nchw16c.h"
#include "kernels/dropout.cuh"

namespace hdr::cpu::nchw16c {
namespace {

void masked_scale(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                  const float* in, float* out) {
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
    int channel = 0;
    int64_t s = 0;  // (channel, s) is the logical position j, advanced incrementally
    for (int64_t j = 0; j < per_sample; j += 4) {
      const Philox4 words = dropout_words(key, sample, uint32_t(j / 4));
      for (int k = 0; k < 4 && j + k < per_sample; ++k) {
        const int64_t at = base + ((int64_t(channel / 16) * spatial + s) * 16 + channel % 16);
        out[at] = dropout_apply(rate, scale, words.v[k], in[at]);
        if (++s == spatial) {
          s = 0;
          ++channel;
        }
      }
    }
  }
}

}  // namespace

void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                     const float* x, float* y) {
  masked_scale(rate, key, first_sample, n, c, spatial, x, y);
}

void dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                      const float* dy, float* dx) {
  masked_scale(rate, key, first_sample, n, c, spatial, dy, dx);
}

}  // namespace hdr::cpu::nchw16c

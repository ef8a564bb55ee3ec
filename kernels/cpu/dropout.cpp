// CPU twin of kernels/dropout.cuh. Forward and backward are the same masked scaling of their
// input (x or dy), so both call one routine. Work splits across threads by sample; inside a
// sample one Philox call yields the words of four consecutive elements, then a short tail.
// The loop over groups vectorises, Philox included (16 groups per AVX-512 iteration). rate 0 is a
// plain copy (no random numbers drawn); small inputs stay on one thread.
#include <cstring>

#include "kernels/dropout.cuh"
#include "kernels/ops.h"

namespace hdr::cpu {
namespace {

constexpr int64_t kMinParallelElements = 1 << 14;

void dropout_masked_scale(float rate, const RandomKey& key, int first_sample, int n, int per_sample, const float* in,
                          float* out) {
  const int64_t total = int64_t(n) * per_sample;
  if (dropout_is_copy(rate)) {
    if (in != out) std::memcpy(out, in, size_t(total) * sizeof(float));
    return;
  }
  const float scale = dropout_scale(rate);
  const int full_groups = per_sample / 4;
#pragma omp parallel for schedule(static) if (total >= kMinParallelElements)
  for (int i = 0; i < n; ++i) {
    const uint32_t sample = uint32_t(first_sample + i);
    const float* src = in + int64_t(i) * per_sample;
    float* dst = out + int64_t(i) * per_sample;
    for (int g = 0; g < full_groups; ++g) {
      const Philox4 words = dropout_words(key, sample, uint32_t(g));
      for (int k = 0; k < 4; ++k) dst[4 * g + k] = dropout_apply(rate, scale, words.v[k], src[4 * g + k]);
    }
    const int tail = per_sample - 4 * full_groups;
    if (tail > 0) {
      const Philox4 words = dropout_words(key, sample, uint32_t(full_groups));
      for (int k = 0; k < tail; ++k) {
        dst[4 * full_groups + k] = dropout_apply(rate, scale, words.v[k], src[4 * full_groups + k]);
      }
    }
  }
}

}  // namespace

void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial, const float* x,
                     float* y) {
  dropout_masked_scale(rate, key, first_sample, n, int(c * spatial), x, y);
}

void dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                      const float* dy, float* dx) {
  dropout_masked_scale(rate, key, first_sample, n, int(c * spatial), dy, dx);
}

}  // namespace hdr::cpu

// CPU twin of kernels/dropout.cuh. Forward and backward are the same masked scaling of their
// input (x or dy), so both call one routine. Work splits across threads by sample; inside a
// sample, chunk by chunk, the keep factors (kernels/cpu/dropout_factors.h) and then the values.
// rate 0 is a plain copy (no random numbers drawn); small inputs stay on one thread.
#include <cstring>

#include "kernels/cpu/dropout_factors.h"
#include "kernels/ops.h"

namespace hdr::cpu {
namespace {

constexpr int64_t kMinParallelElements = 1 << 14;
constexpr int kChunk = 1024;  // values per chunk: a multiple of 4, 4 KiB of factors

void dropout_masked_scale(float rate, const RandomKey& key, int first_sample, int n, int per_sample, const float* in,
                          float* out) {
  const int64_t total = int64_t(n) * per_sample;
  if (dropout_is_copy(rate)) {
    if (in != out) std::memcpy(out, in, size_t(total) * sizeof(float));
    return;
  }
#pragma omp parallel for schedule(static) if (total >= kMinParallelElements)
  for (int i = 0; i < n; ++i) {
    const uint32_t sample = uint32_t(first_sample + i);
    const float* src = in + int64_t(i) * per_sample;
    float* dst = out + int64_t(i) * per_sample;
    float factor[kChunk + 3];  // a chunk's factors; its last group's four may run past its end
    for (int start = 0; start < per_sample; start += kChunk) {
      const int count = per_sample - start < kChunk ? per_sample - start : kChunk;
      dropout_factors(rate, key, sample, uint32_t(start / 4), (count + 3) / 4, factor);
      for (int k = 0; k < count; ++k) dst[start + k] = dropout_by_factor(src[start + k], factor[k]);
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

// CPU twin of kernels/dropout.cuh. Forward splits across threads by sample; inside a sample,
// chunk by chunk, the keep factors (kernels/cpu/dropout_factors.h), then the values and the keep
// bits. Backward scales dy by those bits, in memory order, so it serves every layout and draws no
// random numbers. rate 0 is a plain copy (no random numbers, no bits); small inputs stay on one
// thread.
#include <cstring>

#include "kernels/cpu/dropout_factors.h"
#include "kernels/ops.h"

namespace hdr::cpu {
namespace {

// Below these sizes one thread runs the op: forward draws ten Philox rounds per four values, so
// it pays for a second thread from far fewer values than backward (cnn_bn's drop4, 64 x 128:
// forward 52 -> 41 us on two threads in `hdr bench kernels`, backward 5 -> 7 us).
constexpr int64_t kMinParallelForward = 1 << 11, kMinParallelBackward = 1 << 14;
constexpr int kChunk = 1024;  // values per chunk: a multiple of 8 (whole bytes of bits), 4 KiB of factors

}  // namespace

void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial, const float* x,
                     float* y, uint8_t* keep_bits) {
  const int per_sample = int(c * spatial);
  const int64_t total = int64_t(n) * per_sample, row = dropout_keep_row_bytes(per_sample);
  if (dropout_is_copy(rate)) {
    if (x != y) std::memcpy(y, x, size_t(total) * sizeof(float));
    return;
  }
#pragma omp parallel for schedule(static) if (total >= kMinParallelForward)
  for (int i = 0; i < n; ++i) {
    const uint32_t sample = uint32_t(first_sample + i);
    const float* src = x + int64_t(i) * per_sample;
    float* dst = y + int64_t(i) * per_sample;
    float factor[kChunk + 3];  // a chunk's factors; its last group's four may run past its end
    for (int start = 0; start < per_sample; start += kChunk) {
      const int count = per_sample - start < kChunk ? per_sample - start : kChunk;
      dropout_factors(rate, key, sample, uint32_t(start / 4), (count + 3) / 4, factor);
      for (int k = 0; k < count; ++k) dst[start + k] = dropout_by_factor(src[start + k], factor[k]);
      record_kept(factor, count, keep_bits + i * row + start / 8);
    }
  }
}

void dropout_backward(float rate, const RandomKey&, int, int n, int c, int64_t spatial, const uint8_t* keep_bits,
                      const float* dy, float* dx) {
  const int64_t per_sample = c * spatial, total = n * per_sample, row = dropout_keep_row_bytes(per_sample);
  if (dropout_is_copy(rate)) {
    if (dy != dx) std::memcpy(dx, dy, size_t(total) * sizeof(float));
    return;
  }
  const float scale = dropout_scale(rate);
#pragma omp parallel for schedule(static) if (total >= kMinParallelBackward)
  for (int i = 0; i < n; ++i)
    apply_kept(scale, keep_bits + i * row, per_sample, dy + i * per_sample, dx + i * per_sample);
}

}  // namespace hdr::cpu

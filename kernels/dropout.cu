// CUDA launchers of kernels/dropout.cuh: forward and backward are the same masked scaling (of x,
// or of dy), one thread per group of four elements (geometry in the .cuh), moved as one float4
// where the layout allows.
#include "kernels/cuda_check.h"
#include "kernels/dropout.cuh"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {

constexpr int kBlock = 256;

void dropout_masked_scale(float rate, const RandomKey& key, int first_sample, int n, int per_sample, const float* in,
                          float* out) {
  if (n == 0 || per_sample == 0) return;
  dropout_masked_scale_kernel<<<dropout_grid(n, per_sample, kBlock), kBlock, 0, stream()>>>(
      rate, key, first_sample, n, per_sample, dropout_vectorisable(per_sample, in, out), in, out);
  HDR_CUDA_CHECK_LAUNCH(dropout_masked_scale_kernel);
}

}  // namespace

void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial, const float* x,
                     float* y, uint8_t* /*keep_bits: recomputed in backward*/) {
  dropout_masked_scale(rate, key, first_sample, n, int(c * spatial), x, y);
}

void dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                      const uint8_t* /*keep_bits*/, const float* dy, float* dx) {
  dropout_masked_scale(rate, key, first_sample, n, int(c * spatial), dy, dx);
}

}  // namespace hdr::cuda

// CUDA launchers of kernels/maxpool.cuh: forward one thread per output, backward one thread per
// input (a gather, so dx is written whole without atomics). Geometry helpers live in the .cuh.
#include "kernels/cuda_check.h"
#include "kernels/maxpool.cuh"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {
constexpr int kBlock = 256;
}  // namespace

void maxpool_forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax) {
  if (maxpool_out_count(g) <= 0) return;
  maxpool_forward_kernel<<<maxpool_forward_grid(g, kBlock), kBlock, 0, stream()>>>(g, x, y, argmax);
  HDR_CUDA_CHECK_LAUNCH(maxpool_forward_kernel);
}

void maxpool_backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx) {
  if (maxpool_in_count(g) <= 0) return;
  maxpool_backward_kernel<<<maxpool_backward_grid(g, kBlock), kBlock, 0, stream()>>>(g, dy, argmax, dx);
  HDR_CUDA_CHECK_LAUNCH(maxpool_backward_kernel);
}

}  // namespace hdr::cuda

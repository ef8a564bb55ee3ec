// CUDA launchers of kernels/relu.cuh: ReLU forward/backward and bias add as grid-stride loops,
// the bias gradient as a column-tile reduction without atomics (geometry in the .cuh).
#include "kernels/cuda_check.h"
#include "kernels/ops.h"
#include "kernels/relu.cuh"

namespace hdr::cuda {
namespace {
constexpr int kBlock = 256;
}  // namespace

void relu_forward(int64_t count, const float* x, float* y) {
  if (count == 0) return;
  relu_forward_kernel<<<elementwise_grid(count, kBlock), kBlock, 0, stream()>>>(count, x, y);
  HDR_CUDA_CHECK_LAUNCH(relu_forward_kernel);
}

void relu_backward(int64_t count, const float* y, const float* dy, float* dx) {
  if (count == 0) return;
  relu_backward_kernel<<<elementwise_grid(count, kBlock), kBlock, 0, stream()>>>(count, y, dy, dx);
  HDR_CUDA_CHECK_LAUNCH(relu_backward_kernel);
}

void bias_add(int rows, int cols, const float* bias, float* y) {
  if (rows == 0 || cols == 0) return;
  bias_add_kernel<<<elementwise_grid(int64_t(rows) * cols, kBlock), kBlock, 0, stream()>>>(rows, cols, bias, y);
  HDR_CUDA_CHECK_LAUNCH(bias_add_kernel);
}

void bias_grad(int rows, int cols, const float* dy, float* db) {
  if (cols == 0) return;  // rows == 0 still launches: db is written as zeros, as on the CPU
  const dim3 block = bias_grad_block(kBlock);
  bias_grad_kernel<<<bias_grad_grid(cols, block), block, 0, stream()>>>(rows, cols, dy, db);
  HDR_CUDA_CHECK_LAUNCH(bias_grad_kernel);
}

}  // namespace hdr::cuda

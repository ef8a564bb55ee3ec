// ReLU for layers without batch norm (conv or dense with activation = relu), and the dense
// layer's bias add and bias gradient.
#pragma once

#include <cstdint>

#include "kernels/hd.h"

namespace hdr {

HDR_HD inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
// Gradient through a ReLU, from its output: y > 0 exactly where x > 0.
HDR_HD inline float relu_grad(float y, float dy) { return y > 0.0f ? dy : 0.0f; }

#if defined(__CUDACC__) || defined(HDR_SIMT_HOST)

// ReLU forward/backward and bias add: element-wise grid-stride loops, so any grid is correct; the
// grid covers the elements, capped at kElementwiseMaxBlocks (about two waves of 256-thread blocks
// on an H100), beyond which threads take several elements.
inline constexpr int64_t kElementwiseMaxBlocks = 2048;

inline dim3 elementwise_grid(int64_t count, int block) {
  const int64_t blocks = (count + block - 1) / block;
  return dim3(unsigned(blocks < kElementwiseMaxBlocks ? blocks : kElementwiseMaxBlocks));
}

__global__ void relu_forward_kernel(int64_t count, const float* x, float* y) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) y[i] = relu(x[i]);
}

__global__ void relu_backward_kernel(int64_t count, const float* y, const float* dy, float* dx) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    dx[i] = relu_grad(y[i], dy[i]);
}

// y (rows x cols, row-major) += bias (cols), over the flat index.
__global__ void bias_add_kernel(int rows, int cols, const float* bias, float* y) {
  const int64_t count = int64_t(rows) * cols, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) y[i] += bias[i % cols];
}

// bias_grad: db[c] = sum over rows of dy[r][c], without atomics, so the result is the same every
// run. A block is a tile of blockDim.x columns by blockDim.y row lanes (blockDim.z = 1): a warp
// reads 32 adjacent columns of one row (coalesced), each thread sums rows ty, ty + blockDim.y, ...
// of its column, then the block folds its row lanes in shared memory. Dense layers are narrow
// (tens to a few hundred columns), so a grid of one block per 32 columns is enough.
inline constexpr int kBiasGradMaxThreads = 1024;  // CUDA's largest block: the shared array's size
inline constexpr int kBiasGradColumnsPerBlock = 32;

// block: threads per block, at least kBiasGradColumnsPerBlock.
inline dim3 bias_grad_block(int block) {
  return dim3(unsigned(kBiasGradColumnsPerBlock), unsigned(block / kBiasGradColumnsPerBlock));
}
inline dim3 bias_grad_grid(int cols, dim3 block) { return dim3((unsigned(cols) + block.x - 1) / block.x); }

__global__ void bias_grad_kernel(int rows, int cols, const float* dy, float* db) {
  HDR_SHARED(float, partial, kBiasGradMaxThreads);
  const unsigned lanes = blockDim.y, slot = threadIdx.y * blockDim.x + threadIdx.x;
  const int64_t col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  float sum = 0.0f;
  if (col < cols) {
    for (int64_t r = threadIdx.y; r < rows; r += lanes) sum += dy[r * cols + col];
  }
  partial[slot] = sum;
  __syncthreads();
  // Fold the upper half of the live row lanes onto the lower; an odd count keeps its middle lane.
  for (unsigned live = lanes; live > 1;) {
    const unsigned half = (live + 1) / 2;
    if (threadIdx.y < live - half) partial[slot] += partial[slot + half * blockDim.x];
    __syncthreads();
    live = half;
  }
  if (threadIdx.y == 0 && col < cols) db[col] = partial[slot];
}

#endif  // __CUDACC__ || HDR_SIMT_HOST

}  // namespace hdr

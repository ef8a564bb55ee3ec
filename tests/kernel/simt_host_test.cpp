// The CUDA emulation itself: indexing over a grid, a shared-memory tree reduction with real
// barriers, warp shuffles, atomics, and threads that return before a barrier.
#include "kernels/simt_host.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace {

// Each block sums its slice through shared memory, then one atomicAdd per block.
__global__ void block_sum_shared(const float* x, int n, float* total) {
  __shared__ float partial[64];
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  partial[threadIdx.x] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(total, partial[0]);
}

// Warp-level reduction with __shfl_down_sync, one atomic per warp.
__global__ void warp_sum_shuffle(const int* x, int n, int* total) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  int v = i < n ? x[i] : 0;
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, unsigned(offset));
  if (threadIdx.x % 32 == 0) atomicAdd(total, v);
}

// Threads past n leave early; the rest still meet at the barrier (sm_70+ semantics).
__global__ void early_exit_then_barrier(int n, int* out) {
  __shared__ int seen;
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (threadIdx.x == 0) seen = 0;
  __syncthreads();
  if (i >= n) return;
  atomicAdd(&seen, 1);
  __syncthreads();
  out[i] = seen;
}

__global__ void write_indices(int* out, int width) {
  const unsigned x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  out[y * unsigned(width) + x] = int(y * 1000 + x);
}

TEST(SimtHost, SharedMemoryReductionOverPartialLastBlock) {
  std::vector<float> x(1000);
  std::iota(x.begin(), x.end(), 1.0f);
  float total = 0;
  hdr::simt::launch(dim3((1000 + 63) / 64), dim3(64), block_sum_shared, x.data(), 1000, &total);
  EXPECT_FLOAT_EQ(total, 500500.0f);
}

TEST(SimtHost, WarpShuffleReductionWithPartialWarps) {
  for (int block : {32, 96, 50}) {  // 50: the second warp has 18 lanes
    std::vector<int> x(777);
    std::iota(x.begin(), x.end(), 0);
    int total = 0;
    hdr::simt::launch(dim3((777 + unsigned(block) - 1) / unsigned(block)), dim3(unsigned(block)), warp_sum_shuffle,
                      x.data(), 777, &total);
    EXPECT_EQ(total, 776 * 777 / 2) << "block " << block;
  }
}

TEST(SimtHost, ThreadsThatReturnDoNotBlockTheBarrier) {
  std::vector<int> out(70, -1);
  hdr::simt::launch(dim3(2), dim3(64), early_exit_then_barrier, 70, out.data());
  for (int i = 0; i < 64; ++i) EXPECT_EQ(out[size_t(i)], 64) << i;  // the first block is full
  for (int i = 64; i < 70; ++i) EXPECT_EQ(out[size_t(i)], 6) << i;  // 6 live threads in the second
}

TEST(SimtHost, TwoDimensionalGridIndexing) {
  std::vector<int> out(8 * 6, -1);
  hdr::simt::launch(dim3(2, 3), dim3(4, 2), write_indices, out.data(), 8);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) EXPECT_EQ(out[size_t(y * 8 + x)], y * 1000 + x);
}

}  // namespace

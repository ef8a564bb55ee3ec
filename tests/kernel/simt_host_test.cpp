// The CUDA emulation itself: indexing over a grid, a shared-memory tree reduction with real
// barriers, warp shuffles, atomics, and threads that return before a barrier; then, one
// deliberately wrong kernel each, the undefined behaviour it must make fail instead of passing:
// reads of lanes that did not take part in a shuffle, shared memory read before it is written,
// divergent barriers, masks that leave out the caller, code that relies on block order, and
// launches the hardware refuses.
#include "kernels/simt_host.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace {

using hdr::simt::LaunchError;
using ::testing::HasSubstr;

// The message of the LaunchError the call throws ("" when none).
template <class F>
std::string launch_error(F&& call) {
  try {
    call();
  } catch (const LaunchError& e) {
    return e.what();
  }
  return "";
}

// Each block sums its slice through shared memory, then one atomicAdd per block.
__global__ void block_sum_shared(const float* x, int n, float* total) {
  HDR_SHARED(float, partial, 64);
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  partial[threadIdx.x] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(total, partial[0]);
}

// Lanes of this thread's warp: the block's last warp may be partial.
__device__ unsigned warp_width() {
  const unsigned left = blockDim.x - threadIdx.x / 32u * 32u;
  return left < 32u ? left : 32u;
}

// Warp-level reduction with __shfl_down_sync, one atomic per warp. Lanes past a partial warp's
// end do not exist: what a shuffle reads from them is not added.
__global__ void warp_sum_shuffle(const int* x, int n, int* total) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  const unsigned lane = threadIdx.x % 32u, width = warp_width();
  const unsigned mask = width == 32u ? 0xffffffffu : (1u << width) - 1u;
  int v = i < n ? x[i] : 0;
  for (unsigned offset = 16; offset > 0; offset /= 2) {
    const int other = __shfl_down_sync(mask, v, offset);
    if (lane + offset < width) v += other;
  }
  if (lane == 0) atomicAdd(total, v);
}

// Wrong: adds what it reads from lanes past a partial warp's end.
__global__ void warp_sum_reading_absent_lanes(const float* x, float* total) {
  float v = x[blockIdx.x * blockDim.x + threadIdx.x];
  for (unsigned offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  if (threadIdx.x % 32u == 0) atomicAdd(total, v);
}

// Wrong: lanes 16..31 return, then lanes 0..15 read them.
__global__ void read_returned_lanes(const float* x, float* out) {
  if (threadIdx.x >= 16) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, x[threadIdx.x], 16);
}

// Wrong: lanes 0..15 exchange among themselves (mask 0xffff) but read lanes 16..31.
__global__ void read_outside_the_mask(float* out) {
  if (threadIdx.x < 16) out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, float(threadIdx.x), 16);
}

// Wrong: every lane calls with a mask that holds lane 0 only.
__global__ void mask_without_the_caller(int* out) { out[threadIdx.x] = __shfl_sync(0x1u, int(threadIdx.x), 0); }

// Threads past n leave early; the rest still meet at the barrier (sm_70+ semantics).
__global__ void early_exit_then_barrier(int n, int* out) {
  HDR_SHARED(int, seen, 1);
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (threadIdx.x == 0) seen[0] = 0;
  __syncthreads();
  if (i >= n) return;
  atomicAdd(&seen[0], 1);
  __syncthreads();
  out[i] = seen[0];
}

// Wrong: reads the shared value before any thread of the block has written it; the previous
// block left 1 there.
__global__ void read_shared_before_writing(float* out) {
  HDR_SHARED(float, value, 1);
  if (threadIdx.x == 0) out[blockIdx.x] = value[0];
  __syncthreads();
  if (threadIdx.x == 0) value[0] = 1.0f;
}

// Wrong: the first 16 threads wait at one barrier, the others at another.
__global__ void divergent_barrier(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  }
  __syncthreads();
  out[threadIdx.x] = 1;
}

// Wrong: block b reads what block b - 1 wrote, as if blocks ran in order.
__global__ void chain_over_blocks(int* out) {
  if (threadIdx.x == 0) out[blockIdx.x] = blockIdx.x == 0 ? 1 : out[blockIdx.x - 1] + 1;
}

__global__ void count_blocks(int* runs) { atomicAdd(&runs[blockIdx.x], threadIdx.x == 0 ? 1 : 0); }

// Wrong: 64 KiB of shared memory, over the 48 KiB a kernel may declare statically.
__global__ void too_much_shared(float* out) {
  HDR_SHARED(float, big, 16 * 1024);
  big[threadIdx.x] = 0.0f;
  out[threadIdx.x] = big[threadIdx.x];
}

__global__ void write_indices(int* out, int width) {
  const unsigned x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  out[y * unsigned(width) + x] = int(y * 1000 + x);
}

__global__ void set_flag(int* flag) { *flag = 1; }

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

TEST(SimtHost, PoisonIsNanForFloatsAndMinusOneForIntegers) {
  EXPECT_TRUE(std::isnan(hdr::simt::poison<float>()));
  EXPECT_TRUE(std::isnan(hdr::simt::poison<double>()));
  EXPECT_EQ(hdr::simt::poison<int>(), -1);
}

TEST(SimtHost, ShuffleFromLanesPastAPartialWarpGivesPoison) {
  std::vector<float> x(50, 1.0f);
  float total = 0;
  hdr::simt::launch(dim3(1), dim3(50), warp_sum_reading_absent_lanes, x.data(), &total);
  EXPECT_TRUE(std::isnan(total)) << total;  // not the 50 that reading 0 from absent lanes gives
}

TEST(SimtHost, ShuffleFromReturnedLanesGivesPoison) {
  std::vector<float> x(32, 2.0f), out(16, 0.0f);
  hdr::simt::launch(dim3(1), dim3(32), read_returned_lanes, x.data(), out.data());
  for (float v : out) EXPECT_TRUE(std::isnan(v)) << v;
}

TEST(SimtHost, ShuffleFromLanesOutsideTheMaskGivesPoison) {
  std::vector<float> out(16, 0.0f);
  hdr::simt::launch(dim3(1), dim3(32), read_outside_the_mask, out.data());
  for (float v : out) EXPECT_TRUE(std::isnan(v)) << v;
}

TEST(SimtHost, ACallerLeftOutOfItsOwnMaskIsAFault) {
  std::vector<int> out(32);
  const std::string error = launch_error(
      [&] { hdr::simt::launch(dim3(1), dim3(32), mask_without_the_caller, out.data()); });
  EXPECT_THAT(error, HasSubstr("leaves it out"));
  EXPECT_THAT(error, HasSubstr("mask_without_the_caller"));  // the function the fault is in
  EXPECT_THAT(error, HasSubstr("simt_host_test.cpp:"));      // the launch and the line
  EXPECT_THAT(error, HasSubstr("block (0,0,0) thread "));
}

TEST(SimtHost, SharedMemoryStartsEveryBlockPoisoned) {
  std::vector<float> out(4, 0.0f);
  hdr::simt::launch(dim3(4), dim3(32), read_shared_before_writing, out.data());
  for (float v : out) EXPECT_TRUE(std::isnan(v)) << v;  // neither 0 nor the previous block's 1
}

TEST(SimtHost, DivergentBarrierIsAFault) {
  std::vector<int> out(64);
  const std::string error = launch_error([&] { hdr::simt::launch(dim3(1), dim3(64), divergent_barrier, out.data()); });
  EXPECT_THAT(error, HasSubstr("divergent __syncthreads()"));
  EXPECT_THAT(error, HasSubstr("divergent_barrier"));
}

TEST(SimtHost, BlocksRunInAShuffledOrderEachOnce) {
  constexpr int kBlocks = 64;
  std::vector<int> chain(kBlocks, 0), runs(kBlocks, 0), in_order(kBlocks);
  std::iota(in_order.begin(), in_order.end(), 1);
  hdr::simt::launch(dim3(kBlocks), dim3(32), chain_over_blocks, chain.data());
  EXPECT_NE(chain, in_order);  // what running blocks 0, 1, 2... in turn would give
  hdr::simt::launch(dim3(kBlocks), dim3(32), count_blocks, runs.data());
  EXPECT_EQ(runs, std::vector<int>(kBlocks, 1));
}

TEST(SimtHost, LaunchesTheHardwareRefusesThrowBeforeRunning) {
  int flag = 0;
  for (const auto& [grid, block] : std::vector<std::pair<dim3, dim3>>{{dim3(0), dim3(32)},
                                                                      {dim3(1, 0), dim3(32)},
                                                                      {dim3(1), dim3(0)},
                                                                      {dim3(1), dim3(1025)},
                                                                      {dim3(1), dim3(32, 32, 2)},
                                                                      {dim3(1), dim3(1, 1, 65)},
                                                                      {dim3(1, 65536), dim3(1)},
                                                                      {dim3(1, 1, 65536), dim3(1)}}) {
    const std::string error = launch_error([&] { hdr::simt::launch(grid, block, set_flag, &flag); });
    EXPECT_THAT(error, HasSubstr("invalid configuration")) << grid.x << "," << grid.y << "," << grid.z;
  }
  EXPECT_EQ(flag, 0);
  hdr::simt::launch(dim3(70000), dim3(1), set_flag, &flag);  // over the y and z limit, allowed in x
  EXPECT_EQ(flag, 1);
}

TEST(SimtHost, StaticSharedMemoryOver48KiBIsAFault) {
  std::vector<float> out(32);
  const std::string error = launch_error([&] { hdr::simt::launch(dim3(1), dim3(32), too_much_shared, out.data()); });
  EXPECT_THAT(error, HasSubstr("65536 bytes of shared memory"));
}

}  // namespace

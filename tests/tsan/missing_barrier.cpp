// The ThreadSanitizer build's proof that it sees a missing __syncthreads() in an emulated kernel
// (kernels/simt_host.h runs each CUDA thread of a block as a std::thread, its barriers real).
// One shared-memory block sum, written twice: `hdr_tsan_missing_barrier synced` has the barrier
// between the threads' stores to shared memory and the tree's first reads, and must run clean
// with the right sum; `hdr_tsan_missing_barrier racy` lacks that one barrier, and TSan must
// report the data race in block_sum_without_barrier (tests/CMakeLists.txt checks both, in TSan
// builds only). A racy kernel's sum is undefined, so the racy run checks nothing itself.
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

#include "kernels/simt_host.h"

namespace {

constexpr unsigned kBlock = 64;

__global__ void block_sum(const float* x, float* sums) {
  HDR_SHARED(float, partial, kBlock);
  partial[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) sums[blockIdx.x] = partial[0];
}

__global__ void block_sum_without_barrier(const float* x, float* sums) {
  HDR_SHARED(float, partial, kBlock);
  partial[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
  // Missing: __syncthreads(). Thread 0 may read partial[32] before thread 32 has written it.
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) sums[blockIdx.x] = partial[0];
}

}  // namespace

int main(int argc, char** argv) {
  const bool racy = argc == 2 && std::strcmp(argv[1], "racy") == 0;
  if (argc != 2 || (!racy && std::strcmp(argv[1], "synced") != 0)) {
    std::fprintf(stderr, "usage: %s racy|synced\n", argv[0]);
    return 2;
  }
  constexpr unsigned kBlocks = 2;
  std::vector<float> x(kBlocks * kBlock), sums(kBlocks);
  std::iota(x.begin(), x.end(), 1.0f);
  hdr::simt::launch(dim3(kBlocks), dim3(kBlock), racy ? block_sum_without_barrier : block_sum, x.data(), sums.data());
  std::printf("block sums %g %g\n", double(sums[0]), double(sums[1]));
  if (racy) return 0;
  const bool right = sums[0] == 64.0f * 65 / 2 && sums[1] == 128.0f * 129 / 2 - 64.0f * 65 / 2;
  return right ? 0 : 1;
}

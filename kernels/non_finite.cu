// CUDA side of count_non_finite: Thrust's count_if on the op's stream. Its temporary storage is
// allocated stream-ordered (cudaMallocAsync from the device's memory pool), so the scan never
// synchronises the device as cudaMalloc and cudaFree would; reading the count back waits for
// the stream.
#include <thrust/count.h>
#include <thrust/execution_policy.h>

#include <cmath>
#include <cstddef>

#include "kernels/cuda_check.h"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {

struct StreamOrderedAllocator {
  using value_type = char;
  char* allocate(std::ptrdiff_t bytes) {
    void* p = nullptr;
    HDR_CUDA_CHECK(cudaMallocAsync(&p, size_t(bytes), stream()));
    return static_cast<char*>(p);
  }
  // Called from a destructor, possibly while an error unwinds: it must not throw. A failed free
  // here follows a failure already being reported.
  void deallocate(char* p, size_t) noexcept { (void)cudaFreeAsync(p, stream()); }
};

struct NotFinite {
  __device__ bool operator()(float x) const { return !isfinite(x); }
};

}  // namespace

int64_t count_non_finite(const float* values, int64_t count) {
  if (count == 0) return 0;
  StreamOrderedAllocator allocator;
  return int64_t(
      thrust::count_if(thrust::cuda::par_nosync(allocator).on(stream()), values, values + count, NotFinite{}));
}

}  // namespace hdr::cuda

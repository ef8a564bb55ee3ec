// CUDA side of gather_labels: Thrust's gather on the op's stream. The library's gather is the
// one-thread-per-label kernel this was; par_nosync, because nothing here needs the host to wait.
#include <thrust/execution_policy.h>
#include <thrust/gather.h>

#include "kernels/ops.h"

namespace hdr::cuda {

void gather_labels(const uint8_t* labels, const int32_t* indices, int n, uint8_t* out) {
  if (n == 0) return;
  thrust::gather(thrust::cuda::par_nosync.on(stream()), indices, indices + n, labels, out);  // throws on failure
}

}  // namespace hdr::cuda

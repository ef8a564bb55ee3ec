// CUDA launcher of kernels/labels.cuh: one thread per label of the batch.
#include "kernels/cuda_check.h"
#include "kernels/labels.cuh"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {
constexpr int kBlock = 256;
}  // namespace

void gather_labels(const uint8_t* labels, const int32_t* indices, int n, uint8_t* out) {
  if (n == 0) return;
  gather_labels_kernel<<<gather_labels_grid(n, kBlock), kBlock, 0, stream()>>>(labels, indices, n, out);
  HDR_CUDA_CHECK_LAUNCH(gather_labels_kernel);
}

}  // namespace hdr::cuda

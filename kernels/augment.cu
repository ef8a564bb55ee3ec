// CUDA launcher of kernels/augment.cuh: one block per batch image (geometry in the .cuh).
#include "kernels/augment.cuh"

#include "kernels/cuda_check.h"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {
constexpr int kBlock = 256;  // a 28 x 28 image: ~3 pixels per thread
}  // namespace

void augment(const AugmentParams& p, const RandomKey& key, const uint8_t* images, int h, int w, const int32_t* indices,
             int n, float* out) {
  if (n == 0) return;
  augment_kernel<<<augment_grid(n), kBlock, 0, stream()>>>(p, key, images, h, w, indices, out);
  HDR_CUDA_CHECK_LAUNCH(augment_kernel);
}

}  // namespace hdr::cuda

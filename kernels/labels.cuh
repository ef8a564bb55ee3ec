// Gathering a batch's labels from the resident dataset by the batch's index slice.
#pragma once

#include <cstdint>

#include "kernels/hd.h"

namespace hdr {

HDR_HD inline uint8_t gathered_label(const uint8_t* labels, const int32_t* indices, int i) {
  return labels[indices[i]];
}

#if defined(__CUDACC__) || defined(HDR_SIMT_HOST)

// One thread per label (a batch holds at most a few thousand).
inline dim3 gather_labels_grid(int n, int block) { return dim3(unsigned((n + block - 1) / block)); }

__global__ void gather_labels_kernel(const uint8_t* labels, const int32_t* indices, int n, uint8_t* out) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = gathered_label(labels, indices, int(i));
}

#endif  // __CUDACC__ || HDR_SIMT_HOST

}  // namespace hdr

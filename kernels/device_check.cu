// Can the current device run this binary's kernels? A GPU older than every architecture the
// build compiled for (CMAKE_CUDA_ARCHITECTURES), with no PTX it can take either, has no image of
// any kernel: cudaFuncGetAttributes on an empty kernel says so before a real launch fails.
#include <cuda_runtime_api.h>

#include <string>

#include "kernels/ops.h"

namespace hdr::cuda {
namespace {
__global__ void probe_kernel() {}
}  // namespace

std::string kernel_image_error() {
  cudaFuncAttributes attributes{};
  const cudaError_t err = cudaFuncGetAttributes(&attributes, probe_kernel);
  if (err == cudaSuccess) return "";
  cudaGetLastError();  // clear it: the caller reports it and goes on without this device
  return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
}

}  // namespace hdr::cuda

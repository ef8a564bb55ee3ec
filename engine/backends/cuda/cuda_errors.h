// Checked cuDNN and cuBLAS calls, the library twins of HDR_CUDA_CHECK (kernels/cuda_check.h):
// a failing status throws std::runtime_error naming the status, the call, the file and the line,
// and with HDR_CUDA_SYNC=1 so does a fault of the work the call queued (a device synchronisation
// follows each call).
// Set-up code that must turn "no usable GPU" into an InputError checks the status itself.
#pragma once

#include <cublas_v2.h>
#include <cudnn.h>

#include <stdexcept>
#include <string>

#include "engine/backends/cuda/cublas_library.h"
#include "kernels/cuda_check.h"

namespace hdr {
// no_usable_gpu (engine/backends/gpu_probe.h) of what the runtime says now after `err`, a failed
// cudaGetDeviceCount or cudaSetDevice (cudaSuccess: it found no device). gpu_probe_cuda.cpp.
std::string no_usable_gpu(cudaError_t err);
}  // namespace hdr

namespace hdr::cuda {

[[noreturn]] inline void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string("cuDNN error ") + cudnnGetErrorString(status) + " (" +
                           std::to_string(int(status)) + ") in " + call + " at " + file + ":" + std::to_string(line));
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string("cuBLAS error ") + cublas().status_name(status) + " (" +
                           cublas().status_string(status) + ") in " + call + " at " + file + ":" +
                           std::to_string(line));
}

}  // namespace hdr::cuda

#define HDR_CUDNN_CHECK(call)                                                       \
  do {                                                                              \
    const cudnnStatus_t hdr_cudnn_status_ = (call);                                 \
    if (hdr_cudnn_status_ != CUDNN_STATUS_SUCCESS)                                  \
      ::hdr::cuda::throw_cudnn_error(hdr_cudnn_status_, #call, __FILE__, __LINE__); \
    ::hdr::cuda::debug_sync(#call, __FILE__, __LINE__);                             \
  } while (0)

#define HDR_CUBLAS_CHECK(call)                                                        \
  do {                                                                                \
    const cublasStatus_t hdr_cublas_status_ = (call);                                 \
    if (hdr_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                  \
      ::hdr::cuda::throw_cublas_error(hdr_cublas_status_, #call, __FILE__, __LINE__); \
    ::hdr::cuda::debug_sync(#call, __FILE__, __LINE__);                               \
  } while (0)

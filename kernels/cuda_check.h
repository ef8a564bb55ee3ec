// Checked CUDA calls: every runtime call and every kernel launch goes through HDR_CUDA_CHECK
// (or HDR_CUDA_CHECK_LAUNCH after a <<<>>>), and a failure throws std::runtime_error naming
// the call, file and line. With HDR_CUDA_SYNC=1 in the environment every launch is followed by
// a device synchronisation, so an asynchronous fault is reported at the launch that caused it.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace hdr::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) +
                           ") in " + call + " at " + file + ":" + std::to_string(line));
}

// True when HDR_CUDA_SYNC=1: read once.
bool sync_after_launch();

}  // namespace hdr::cuda

#define HDR_CUDA_CHECK(call)                                                         \
  do {                                                                               \
    const cudaError_t hdr_cuda_err_ = (call);                                        \
    if (hdr_cuda_err_ != cudaSuccess) ::hdr::cuda::throw_cuda_error(hdr_cuda_err_, #call, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: the launch error, and with HDR_CUDA_SYNC=1 the execution error too,
// both reported under the kernel's name.
#define HDR_CUDA_CHECK_LAUNCH(kernel_name)                                                        \
  do {                                                                                            \
    cudaError_t hdr_launch_err_ = cudaGetLastError();                                             \
    if (hdr_launch_err_ == cudaSuccess && ::hdr::cuda::sync_after_launch())                       \
      hdr_launch_err_ = cudaDeviceSynchronize();                                                  \
    if (hdr_launch_err_ != cudaSuccess)                                                           \
      ::hdr::cuda::throw_cuda_error(hdr_launch_err_, "launch of " #kernel_name, __FILE__, __LINE__); \
  } while (0)

// Checked CUDA calls: every runtime call and every kernel launch goes through HDR_CUDA_CHECK
// (or HDR_CUDA_CHECK_LAUNCH after a <<<>>>), and a failure throws std::runtime_error naming
// the call, file and line. With HDR_CUDA_SYNC=1 in the environment every launch (and every cuDNN
// and cuBLAS call, engine/backends/cuda/cuda_errors.h) is followed by a device synchronisation,
// so an asynchronous fault is reported at the call that caused it.
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
bool debug_sync_enabled();

// With HDR_CUDA_SYNC=1, after a call that queued work (a launch, a cuDNN or cuBLAS call): waits
// for the device and throws, naming the call, when that work failed.
inline void debug_sync(const char* call, const char* file, int line) {
  if (!debug_sync_enabled()) return;
  if (const cudaError_t err = cudaDeviceSynchronize(); err != cudaSuccess) throw_cuda_error(err, call, file, line);
}

}  // namespace hdr::cuda

#define HDR_CUDA_CHECK(call)                                                                                   \
  do {                                                                                                         \
    const cudaError_t hdr_cuda_err_ = (call);                                                                  \
    if (hdr_cuda_err_ != cudaSuccess) ::hdr::cuda::throw_cuda_error(hdr_cuda_err_, #call, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: the launch error, and with HDR_CUDA_SYNC=1 the execution error too,
// both reported under the kernel's name.
#define HDR_CUDA_CHECK_LAUNCH(kernel_name)                                                           \
  do {                                                                                               \
    const cudaError_t hdr_launch_err_ = cudaGetLastError();                                          \
    if (hdr_launch_err_ != cudaSuccess)                                                              \
      ::hdr::cuda::throw_cuda_error(hdr_launch_err_, "launch of " #kernel_name, __FILE__, __LINE__); \
    ::hdr::cuda::debug_sync("launch of " #kernel_name, __FILE__, __LINE__);                          \
  } while (0)

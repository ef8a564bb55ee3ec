// Is there a usable NVIDIA GPU, and which CUDA libraries was this binary built against?
// On machines with the toolkit but no driver, cudaGetDeviceCount returns
// cudaErrorInsufficientDriver: that reads as "no usable GPU", never as a crash, and names the
// real cause (no_usable_gpu).
#pragma once

#include <string>
#include <vector>

namespace hdr {

struct GpuProbe {
  bool built_with_cuda = false;
  std::string cuda_runtime, cudnn, cublas;  // versions compiled in; empty without CUDA
  std::vector<std::string> devices;         // "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)"; entry i is cuda:i
  std::vector<std::string> device_uuids;    // "GPU-5a1b...", as nvidia-smi -L prints them; one per device
  std::string why_none;                     // set when devices is empty
};

GpuProbe probe_gpus();

// What the CUDA runtime reported when asked for its devices (cudaGetDeviceCount or cudaSetDevice
// failed, or found none).
struct CudaFailure {
  std::string error_name, error_text;     // the runtime's; empty when the call succeeded with no device
  int driver_version = 0;                 // cudaDriverGetVersion: 0 when no NVIDIA driver is installed
  int runtime_version = 0;                // CUDART_VERSION, 12080 for 12.8
  const char* visible_devices = nullptr;  // CUDA_VISIBLE_DEVICES, null when unset
};

// "no usable GPU (<the cause>)": no driver at all, a driver older than the runtime (both
// versions), no device (hidden by CUDA_VISIBLE_DEVICES?), or else the runtime's own error. Its
// cudaErrorInsufficientDriver alone ("driver version is insufficient") sends a user without any
// driver to update one.
std::string no_usable_gpu(const CudaFailure& f);

}  // namespace hdr

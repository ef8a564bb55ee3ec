// Is there a usable NVIDIA GPU, and which CUDA libraries was this binary built against?
// On machines with the toolkit but no driver, cudaGetDeviceCount returns
// cudaErrorInsufficientDriver: that reads as "no usable GPU", never as a crash.
#pragma once

#include <string>
#include <vector>

namespace hdr {

struct GpuProbe {
  bool built_with_cuda = false;
  std::string cuda_runtime, cudnn, cublas;  // versions compiled in; empty without CUDA
  std::vector<std::string> devices;         // "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)"
  std::string why_none;                     // set when devices is empty
};

GpuProbe probe_gpus();

}  // namespace hdr

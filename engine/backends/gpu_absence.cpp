// no_usable_gpu (gpu_probe.h): the cause of a missing GPU in words, from what the CUDA runtime
// reported. Plain C++, so that every build can test it; the CUDA build fills CudaFailure.
#include <fmt/format.h>

#include "engine/backends/gpu_probe.h"

namespace hdr {
namespace {

std::string cuda_version(int v) { return fmt::format("{}.{}", v / 1000, (v / 10) % 100); }

}  // namespace

std::string no_usable_gpu(const CudaFailure& f) {
  if (f.driver_version == 0)
    return "no usable GPU (no NVIDIA driver is installed: the CUDA runtime found no libcuda.so.1; install the "
           "NVIDIA driver, or use --device cpu)";
  if (f.driver_version < f.runtime_version)
    return fmt::format("no usable GPU (the NVIDIA driver supports CUDA up to {}, this build's runtime is CUDA {}: "
                       "install a driver for CUDA {} or later)",
                       cuda_version(f.driver_version), cuda_version(f.runtime_version),
                       cuda_version(f.runtime_version));
  if (f.error_name.empty() || f.error_name == "cudaErrorNoDevice") {
    if (f.visible_devices)
      return fmt::format("no usable GPU (no CUDA device visible with CUDA_VISIBLE_DEVICES=\"{}\")", f.visible_devices);
    return "no usable GPU (no CUDA device present)";
  }
  return fmt::format("no usable GPU ({}: {})", f.error_name, f.error_text);
}

}  // namespace hdr

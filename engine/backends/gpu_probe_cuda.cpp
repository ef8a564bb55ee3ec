// GpuProbe for CUDA builds: asks the runtime, never assumes a driver is installed.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <fmt/format.h>

#include "engine/backends/gpu_probe.h"

namespace hdr {

namespace {
std::string dotted(int v, int major_div, int minor_div, int minor_mod) {
  return fmt::format("{}.{}", v / major_div, (v / minor_div) % minor_mod);
}
}  // namespace

GpuProbe probe_gpus() {
  GpuProbe p;
  p.built_with_cuda = true;
  p.cuda_runtime = dotted(CUDART_VERSION, 1000, 10, 100);
  p.cudnn = fmt::format("{}.{}.{}", CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
  p.cublas = fmt::format("{}.{}.{}", CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    p.why_none = fmt::format("no usable GPU ({}: {})", cudaGetErrorName(err), cudaGetErrorString(err));
    return p;
  }
  if (count == 0) p.why_none = "no CUDA device present";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    p.devices.push_back(fmt::format("{} (sm_{}{}, {:.1f} GiB)", prop.name, prop.major, prop.minor,
                                    double(prop.totalGlobalMem) / (1 << 30)));
  }
  return p;
}

}  // namespace hdr

// GpuProbe for CUDA builds: asks the runtime, never assumes a driver is installed.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <fmt/format.h>

#include <cstdlib>

#include "engine/backends/cuda/cuda_errors.h"
#include "engine/backends/gpu_probe.h"

namespace hdr {

std::string no_usable_gpu(cudaError_t err) {
  CudaFailure f;
  if (err != cudaSuccess) {
    f.error_name = cudaGetErrorName(err);
    f.error_text = cudaGetErrorString(err);
  }
  if (cudaDriverGetVersion(&f.driver_version) != cudaSuccess) f.driver_version = 0;
  f.runtime_version = CUDART_VERSION;
  f.visible_devices = std::getenv("CUDA_VISIBLE_DEVICES");
  return no_usable_gpu(f);
}

namespace {
std::string dotted(int v, int major_div, int minor_div, int minor_mod) {
  return fmt::format("{}.{}", v / major_div, (v / minor_div) % minor_mod);
}
// nvidia-smi's spelling: GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
std::string uuid_text(const cudaUUID_t& uuid) {
  std::string text = "GPU-";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += fmt::format("{:02x}", static_cast<unsigned char>(uuid.bytes[i]));
  }
  return text;
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
  if (err != cudaSuccess || count == 0) {
    p.why_none = no_usable_gpu(err);
    return p;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {  // kept, so that entry i is device cuda:i
      p.devices.push_back(fmt::format("cuda:{} (properties unavailable)", i));
      p.device_uuids.push_back(fmt::format("cuda:{}", i));
      continue;
    }
    p.devices.push_back(fmt::format("{} (sm_{}{}, {:.1f} GiB)", prop.name, prop.major, prop.minor,
                                    double(prop.totalGlobalMem) / (1 << 30)));
    p.device_uuids.push_back(uuid_text(prop.uuid));
  }
  return p;
}

}  // namespace hdr

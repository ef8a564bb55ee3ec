// GpuProbe for builds without the CUDA backend (HDR_CUDA=OFF or no nvcc).
#include "engine/backends/gpu_probe.h"

namespace hdr {

GpuProbe probe_gpus() {
  GpuProbe p;
  p.why_none = "built without CUDA (HDR_CUDA=OFF or no nvcc at configure time)";
  return p;
}

}  // namespace hdr

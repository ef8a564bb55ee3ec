#include "engine/backends/version.h"

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "engine/backends/build_info.h"
#include "engine/backends/git_revision.h"
#include "engine/backends/gpu_probe.h"

namespace hdr {

const char* git_revision() { return HDR_GIT_REVISION; }

std::string build_label() { return fmt::format("{} (git {}, {} build)", HDR_VERSION, git_revision(), HDR_BUILD_TYPE); }

std::string version_report() {
  std::string out = "hdr " + build_label() + "\n";
  const dnnl_version_t* v = dnnl_version();
  const char* isa = dnnl_cpu_isa2str(static_cast<dnnl_cpu_isa_t>(dnnl::get_effective_cpu_isa()));
  out += fmt::format("oneDNN {}.{}.{} (CPU ISA dispatched: {})\n", v->major, v->minor, v->patch, isa);
  const GpuProbe gpu = probe_gpus();
  if (gpu.built_with_cuda) {
    out += fmt::format("CUDA runtime {}, cuDNN {}, cuBLAS {} (architectures {})\n", gpu.cuda_runtime, gpu.cudnn,
                       gpu.cublas, HDR_CUDA_ARCHITECTURES);
  } else {
    out += "CUDA: not compiled in\n";
  }
  if (gpu.devices.empty()) {
    out += fmt::format("GPU: none ({})\n", gpu.why_none);
  } else {
    for (size_t i = 0; i < gpu.devices.size(); ++i) out += fmt::format("GPU {}: {}\n", i, gpu.devices[i]);
  }
  out.pop_back();  // the caller adds the final newline
  return out;
}

}  // namespace hdr

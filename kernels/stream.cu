// The stream the hdr::cuda ops launch on, and the HDR_CUDA_SYNC debug switch.
#include <cstdlib>
#include <cstring>

#include "kernels/cuda_check.h"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {
cudaStream_t g_stream = nullptr;
}  // namespace

void set_stream(CUstream_st* s) { g_stream = s; }
CUstream_st* stream() { return g_stream; }

bool sync_after_launch() {
  static const bool enabled = [] {
    const char* v = std::getenv("HDR_CUDA_SYNC");
    return v && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

}  // namespace hdr::cuda

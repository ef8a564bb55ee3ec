// The stream the hdr::cuda ops launch on, and the HDR_CUDA_SYNC debug switch. The stream is per
// thread: two backends used from two threads (serve's workers) each launch on their own.
#include <cstdlib>
#include <cstring>

#include "kernels/cuda_check.h"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {
thread_local cudaStream_t g_stream = nullptr;
}  // namespace

void set_stream(CUstream_st* s) { g_stream = s; }
CUstream_st* stream() { return g_stream; }

bool debug_sync_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("HDR_CUDA_SYNC");
    return v && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

}  // namespace hdr::cuda

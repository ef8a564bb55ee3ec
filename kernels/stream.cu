// The stream and the scratch the hdr::cuda ops use, and the HDR_CUDA_SYNC debug switch. Both are
// per thread: two backends used from two threads (serve's workers) each bind their own.
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cuda_check.h"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {
thread_local cudaStream_t g_stream = nullptr;
thread_local void* g_scratch = nullptr;
thread_local size_t g_scratch_bytes = 0;
}  // namespace

void set_stream(CUstream_st* s) { g_stream = s; }
CUstream_st* stream() { return g_stream; }

void set_scratch(void* scratch, size_t bytes) {
  g_scratch = scratch;
  g_scratch_bytes = scratch ? bytes : 0;
}
void* scratch(size_t bytes, const char* op) {
  if (bytes > g_scratch_bytes)
    throw std::logic_error(std::string(op) + " needs " + std::to_string(bytes) + " bytes of device scratch, but " +
                           std::to_string(g_scratch_bytes) + " are bound");
  return g_scratch;
}

bool debug_sync_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("HDR_CUDA_SYNC");
    return v && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

}  // namespace hdr::cuda

// What this build's ptxas said about each hand-written CUDA kernel, for every architecture it was
// compiled for: registers per thread, spills, stack and shared memory (the "static" part of
// `hdr bench kernels --device cuda`, known without a GPU), and the theoretical occupancy that
// implies. The build keeps nvcc's --resource-usage report (tools/nvcc_resource_usage.sh) and
// compiles it in; the spill check (tests/unit/kernel_resources_test.cpp) reads it too.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hdr {

struct KernelResources {
  std::string kernel;  // demangled, without parameters: "hdr::cuda::augment_kernel"
  std::string arch;    // "sm_90"
  int registers = 0, barriers = 0;
  int stack_bytes = 0, spill_store_bytes = 0, spill_load_bytes = 0, shared_bytes = 0;
  bool spills() const { return spill_store_bytes > 0 || spill_load_bytes > 0; }
};

// The report compiled into this build ("" without the CUDA backend).
std::string_view built_kernel_resources();

// Every "Compiling entry function ... for 'sm_XX'" block of a ptxas report, in its order.
std::vector<KernelResources> parse_resource_usage(std::string_view report);

// The hand-written kernels of this build's report (namespace hdr): the report also holds the
// kernels Thrust instantiates for the ops it runs (gather, count), which are the library's.
std::vector<KernelResources> built_hdr_kernels();

// Resident warps over the SM's maximum for blocks of block_threads, limited by registers (per-warp
// allocation in units of 256), shared memory, threads and blocks per SM, from the CUDA
// programming guide's table for the architecture; 0 for an architecture the table lacks.
double theoretical_occupancy(const KernelResources& k, int block_threads);

}  // namespace hdr

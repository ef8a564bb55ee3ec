// Compiled without -march (the engine's default flags), so it runs on any x86-64 CPU.
#include "engine/backends/cpu_check.h"

#include <fmt/format.h>

#include <vector>

#include "kernels/cpu/isa.h"

namespace hdr {
namespace {

// __builtin_cpu_supports takes only string literals.
bool cpu_has(std::string_view feature) {
  if (feature == "sse4.2") return __builtin_cpu_supports("sse4.2");
  if (feature == "avx") return __builtin_cpu_supports("avx");
  if (feature == "avx2") return __builtin_cpu_supports("avx2");
  if (feature == "fma") return __builtin_cpu_supports("fma");
  if (feature == "bmi2") return __builtin_cpu_supports("bmi2");
  if (feature == "avx512f") return __builtin_cpu_supports("avx512f");
  if (feature == "avx512bw") return __builtin_cpu_supports("avx512bw");
  if (feature == "avx512dq") return __builtin_cpu_supports("avx512dq");
  if (feature == "avx512vl") return __builtin_cpu_supports("avx512vl");
  return true;  // a feature this check does not know: the list in kernels/cpu/isa.cpp is the one to extend
}

}  // namespace

std::string cpu_feature_mismatch(const char* const* features, std::string_view arch,
                                 const std::function<bool(std::string_view)>& has) {
  std::vector<std::string_view> missing;
  for (const char* const* f = features; *f; ++f)
    if (!has(*f)) missing.emplace_back(*f);
  if (missing.empty()) return "";
  return fmt::format("this hdr was built with -march={} for a CPU with {}, which this one lacks: rebuild it on this "
                     "machine, or anywhere with -DHDR_MARCH=x86-64-v3 (any x86-64 CPU with AVX2 and FMA) or "
                     "-DHDR_MARCH=x86-64 (any x86-64 CPU)",
                     arch, fmt::join(missing, ", "));
}

std::string cpu_kernel_mismatch() { return cpu_feature_mismatch(cpu::kCompiledFeatures, cpu::kCompiledArch, cpu_has); }

}  // namespace hdr

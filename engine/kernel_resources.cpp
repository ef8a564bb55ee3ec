#include "engine/kernel_resources.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <regex>
#include <sstream>

namespace hdr {
namespace {

std::string demangled(const std::string& name) {
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> text(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status),
                                                          &std::free);
  if (status != 0 || !text) return name;
  // Drop the parameter list: the parentheses that close the name, not "(anonymous namespace)".
  std::string s = text.get();
  int depth = 0;
  for (size_t i = s.size(); i-- > 0;) {
    depth += s[i] == ')' ? 1 : s[i] == '(' ? -1 : 0;
    if (depth == 0) {
      s.resize(i);
      break;
    }
  }
  for (size_t at; (at = s.find("(anonymous namespace)::")) != std::string::npos;) s.erase(at, 23);
  return s;
}

// The per-SM limits of the CUDA C++ Programming Guide's table "Technical Specifications per
// Compute Capability".
struct SmLimits {
  const char* arch;
  int max_warps, max_blocks, shared_bytes;
};
constexpr SmLimits kLimits[] = {
    {"sm_75", 32, 16, 64 << 10},  {"sm_80", 64, 32, 164 << 10}, {"sm_86", 48, 16, 100 << 10},
    {"sm_87", 48, 16, 164 << 10}, {"sm_89", 48, 24, 100 << 10}, {"sm_90", 64, 32, 228 << 10},
};
constexpr int kRegistersPerSm = 65536, kRegisterUnit = 256;

int int_of(const std::ssub_match& m) { return std::atoi(m.str().c_str()); }

}  // namespace

std::vector<KernelResources> parse_resource_usage(std::string_view report) {
  static const std::regex entry(R"(Compiling entry function '([^']+)' for '(sm_[0-9a-z]+)')");
  static const std::regex frame(R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex used(R"(Used (\d+) registers(?:, used (\d+) barriers)?(?:, (\d+) bytes smem)?)");
  std::vector<KernelResources> out;
  std::istringstream in{std::string(report)};
  std::string line;
  KernelResources current;
  bool open = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, entry)) {
      current = KernelResources{demangled(m[1].str()), m[2].str()};
      open = true;
    } else if (open && std::regex_search(line, m, frame)) {
      current.stack_bytes = int_of(m[1]);
      current.spill_store_bytes = int_of(m[2]);
      current.spill_load_bytes = int_of(m[3]);
    } else if (open && std::regex_search(line, m, used)) {
      current.registers = int_of(m[1]);
      if (m[2].matched) current.barriers = int_of(m[2]);
      // "bytes smem" appears only for a kernel with shared memory; an "N bytes cumulative stack
      // size" before it is not shared memory.
      if (m[3].matched) current.shared_bytes = int_of(m[3]);
      out.push_back(current);
      open = false;
    }
  }
  return out;
}

double theoretical_occupancy(const KernelResources& k, int block_threads) {
  const auto limits = std::find_if(std::begin(kLimits), std::end(kLimits),
                                   [&](const SmLimits& l) { return k.arch == l.arch; });
  if (limits == std::end(kLimits) || block_threads <= 0) return 0;
  const int warps_per_block = (block_threads + 31) / 32;
  const int registers_per_warp = (std::max(k.registers, 1) * 32 + kRegisterUnit - 1) / kRegisterUnit * kRegisterUnit;
  int blocks = std::min(limits->max_blocks, limits->max_warps / warps_per_block);
  blocks = std::min(blocks, kRegistersPerSm / registers_per_warp / warps_per_block);
  if (k.shared_bytes > 0) blocks = std::min(blocks, limits->shared_bytes / k.shared_bytes);
  return double(blocks * warps_per_block) / limits->max_warps;
}

}  // namespace hdr

#include "engine/profile/kernel_resources.h"

#include <cxxabi.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
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

// Pieces of ptxas' lines: the text between `prefix` and the next quote; the number just before
// `suffix` or just after `prefix` (0 where the line has none).
std::string quoted_after(const std::string& line, std::string_view prefix) {
  const size_t at = line.find(prefix);
  if (at == std::string::npos) return "";
  const size_t start = at + prefix.size(), end = line.find('\'', start);
  return end == std::string::npos ? "" : line.substr(start, end - start);
}
int number_before(const std::string& line, std::string_view suffix) {
  const size_t end = line.find(suffix);
  if (end == std::string::npos) return 0;
  size_t start = end;
  while (start > 0 && std::isdigit(static_cast<unsigned char>(line[start - 1]))) --start;
  return start == end ? 0 : std::atoi(line.substr(start, end - start).c_str());
}
int number_after(const std::string& line, std::string_view prefix) {
  const size_t at = line.find(prefix);
  return at == std::string::npos ? 0 : std::atoi(line.c_str() + at + prefix.size());
}

}  // namespace

std::vector<KernelResources> parse_resource_usage(std::string_view report) {
  std::vector<KernelResources> out;
  std::istringstream in{std::string(report)};
  std::string line;
  KernelResources current;
  bool open = false;
  while (std::getline(in, line)) {
    if (const std::string entry = quoted_after(line, "Compiling entry function '"); !entry.empty()) {
      current = KernelResources{demangled(entry), quoted_after(line, " for '")};
      open = true;
    } else if (open && line.find("bytes stack frame") != std::string::npos) {
      current.stack_bytes = number_before(line, " bytes stack frame");
      current.spill_store_bytes = number_before(line, " bytes spill stores");
      current.spill_load_bytes = number_before(line, " bytes spill loads");
    } else if (open && line.find("Used ") != std::string::npos) {
      current.registers = number_after(line, "Used ");
      current.barriers = number_after(line, "used ");
      // Present only for a kernel with shared memory ("N bytes cumulative stack size" is not).
      current.shared_bytes = number_before(line, " bytes smem");
      out.push_back(current);
      open = false;
    }
  }
  return out;
}

std::vector<KernelResources> built_hdr_kernels() {
  std::vector<KernelResources> kernels = parse_resource_usage(built_kernel_resources());
  std::erase_if(kernels, [](const KernelResources& k) {  // a template's name starts with its return type
    return !k.kernel.starts_with("hdr::") && !k.kernel.starts_with("void hdr::");
  });
  return kernels;
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

// Whether this CPU can run the hand-written CPU kernels: a binary built with -march=native on
// one machine would otherwise die with SIGILL on an older one, at the first kernel it reaches.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace hdr {

// Empty when the CPU has every feature the kernels were compiled for; else one line naming the
// missing ones and how to rebuild.
std::string cpu_kernel_mismatch();

// The same for a null-terminated feature list built with -march=arch, on a CPU described by has.
std::string cpu_feature_mismatch(const char* const* features, std::string_view arch,
                                 const std::function<bool(std::string_view)>& has);

}  // namespace hdr

// What the hand-written CPU kernels were compiled for (kernels/cpu/isa.cpp).
#pragma once

namespace hdr::cpu {

// The x86 features the kernels may use, null-terminated: those of the build's -march.
extern const char* const kCompiledFeatures[];
// The -march they were built with (HDR_MARCH): "native" or a named target such as "x86-64-v3".
extern const char* const kCompiledArch;

}  // namespace hdr::cpu

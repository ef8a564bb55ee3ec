// The x86 features the hand-written CPU kernels were compiled to use (-march=HDR_MARCH), as the
// compiler's own macros report them, for engine/backends/cpu_check.cpp to compare with the CPU at start.
// Data only, constant-initialised: reading it runs no instruction the CPU might lack.
#include "kernels/cpu/isa.h"

namespace hdr::cpu {

const char* const kCompiledFeatures[] = {
#if defined(__SSE4_2__)
    "sse4.2",
#endif
#if defined(__AVX__)
    "avx",
#endif
#if defined(__AVX2__)
    "avx2",
#endif
#if defined(__FMA__)
    "fma",
#endif
#if defined(__BMI2__)
    "bmi2",
#endif
#if defined(__AVX512F__)
    "avx512f",
#endif
#if defined(__AVX512BW__)
    "avx512bw",
#endif
#if defined(__AVX512DQ__)
    "avx512dq",
#endif
#if defined(__AVX512VL__)
    "avx512vl",
#endif
    nullptr};

const char* const kCompiledArch = HDR_MARCH;

}  // namespace hdr::cpu

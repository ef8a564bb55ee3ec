// Twelve independent FMA chains per thread hide the FMA latency (4 cycles x 2 ports + slack),
// on 64-byte vectors: the register-resident loop the CPU's FP32 peak is defined by.
#include "engine/machine_peak.h"

#include <omp.h>

#include <chrono>

namespace hdr {

namespace {
typedef float Vec16 __attribute__((vector_size(64)));
constexpr int kChains = 12;
constexpr int kIterations = 1 << 16;
volatile float g_sink;  // the chains' results go somewhere, so they are computed
}  // namespace

double measure_fp32_peak_gflops(double seconds) {
  using Clock = std::chrono::steady_clock;
  double flops = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  float sink = 0;
  do {
#pragma omp parallel reduction(+ : flops, sink)
    {
      Vec16 acc[kChains];
      Vec16 a, b;
      for (int l = 0; l < 16; ++l) {
        a[l] = 0.999999f;
        b[l] = 1e-7f * float(omp_get_thread_num() + 1);
      }
      for (int c = 0; c < kChains; ++c) acc[c] = a * float(c);
      for (int i = 0; i < kIterations; ++i) {
#pragma GCC unroll 12  // all chains in registers, not on the stack
        for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * a + b;
      }
      for (int c = 0; c < kChains; ++c) sink += acc[c][0];
      flops += 2.0 * 16 * kChains * double(kIterations);
    }
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  g_sink = sink;
  return flops / elapsed * 1e-9;
}

}  // namespace hdr

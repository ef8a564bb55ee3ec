// Independent FMA chains per thread hide the FMA latency (4-5 cycles x 2 ports + slack) on the
// widest vectors the CPU has, every chain in a register: the loop the CPU's FP32 peak is defined
// by. The vector width is chosen when the program runs, not when it is built: 64-byte vectors on
// an AVX2 machine would need two registers each and spill, reading as a third of the real peak.
#include "engine/backends/machine_peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace hdr {

namespace {
typedef float Vec16 __attribute__((vector_size(64)));
typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec4 __attribute__((vector_size(16)));
constexpr int kIterations = 1 << 16;
volatile float g_sink;  // the chains' results go somewhere, so they are computed

// kChains chains of kIterations FMAs on Vec; returns a value that depends on all of them.
// Inlined into each ISA's function below, which compiles it for its vectors.
template <class Vec, int kChains>
[[gnu::always_inline]] inline float fma_chains(float thread_seed) {
  constexpr int kLanes = int(sizeof(Vec) / sizeof(float));
  Vec acc[kChains];
  Vec a, b;
  for (int l = 0; l < kLanes; ++l) {
    a[l] = 0.999999f;
    b[l] = 1e-7f * thread_seed;
  }
  for (int c = 0; c < kChains; ++c) acc[c] = a * float(c);
  for (int i = 0; i < kIterations; ++i) {
#pragma GCC unroll 16  // all chains in registers, not on the stack
    for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * a + b;
  }
  float sum = 0;
  for (int c = 0; c < kChains; ++c) sum += acc[c][0];
  return sum;
}

// 32 vector registers with AVX-512, 16 with AVX2 and SSE: 12 chains fit either, with a and b.
[[gnu::target("avx512f,fma")]] float chains_avx512(float seed) { return fma_chains<Vec16, 12>(seed); }
[[gnu::target("avx2,fma")]] float chains_avx2(float seed) { return fma_chains<Vec8, 12>(seed); }
float chains_sse(float seed) { return fma_chains<Vec4, 12>(seed); }

struct Kernel {
  float (*run)(float);
  int lanes;
};
// The widest vectors both the CPU and the engine (max_lanes) use.
Kernel widest_kernel(int max_lanes) {
  if (max_lanes >= 16 && __builtin_cpu_supports("avx512f")) return {chains_avx512, 16};
  if (max_lanes >= 8 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {chains_avx2, 8};
  return {chains_sse, 4};
}
}  // namespace

// The best of short samples rather than one long average: a sample taken while another process
// held a core reads low, and one such moment no longer drags the peak down (a peak measured low
// made ops print "153% of its peak").
double measure_fp32_peak_gflops(int max_lanes, double seconds) {
  using Clock = std::chrono::steady_clock;
  constexpr double kSample = 0.02;
  const Kernel kernel = widest_kernel(max_lanes);
  const double flops_per_run = 2.0 * kernel.lanes * 12 * double(kIterations);
  double best = 0, elapsed = 0;
  float sink = 0;
  do {
    double flops = 0, sample = 0;
    const auto start = Clock::now();
    do {
#pragma omp parallel reduction(+ : flops, sink)
      {
        sink += kernel.run(float(omp_get_thread_num() + 1));
        flops += flops_per_run;
      }
      sample = std::chrono::duration<double>(Clock::now() - start).count();
    } while (sample < kSample);
    best = std::max(best, flops / sample * 1e-9);
    elapsed += sample;
  } while (elapsed < seconds);
  g_sink = sink;
  return best;
}

int widest_fp32_lanes(int max_lanes) { return widest_kernel(max_lanes).lanes; }

double measure_triad_gbs(size_t array_bytes, double seconds) {
  using Clock = std::chrono::steady_clock;
  const int64_t n = int64_t(array_bytes / sizeof(float));
  const std::unique_ptr<float[]> a(new float[size_t(n)]), b(new float[size_t(n)]), c(new float[size_t(n)]);
  float* pa = a.get();
  const float* pb = b.get();
  const float* pc = c.get();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    a[size_t(i)] = 0;
    b[size_t(i)] = 1;
    c[size_t(i)] = 2;
  }
  // Passes per timing: enough for a few milliseconds, so that the clock and the fork are noise.
  const int passes = int(std::clamp<int64_t>((int64_t(8) << 20) / std::max<int64_t>(n, 1), 1, 4096));
  double best = 0, elapsed = 0;
  const float s = 0.5f;
  do {
    const auto start = Clock::now();
#pragma omp parallel
    for (int p = 0; p < passes; ++p) {
#pragma omp for schedule(static) nowait
      for (int64_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
    }
    const double t = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::max(best, 3.0 * double(array_bytes) * passes / t * 1e-9);
    elapsed += t;
  } while (elapsed < seconds);
  g_sink = a[size_t(n / 2)];
  return best;
}

}  // namespace hdr

// The machine's FP32 peak, measured in the same run as a benchmark (the % of peak a benchmark
// reports is then a ratio of two numbers taken on the same, possibly shared, machine).
#pragma once

#include <cstddef>

namespace hdr {

// GFLOP/s of independent fused multiply-adds on every thread of the OpenMP pool, with the
// widest vectors this CPU has (AVX-512, AVX2 or SSE, chosen at run time) up to max_lanes floats
// (the engine's own width: 8 when oneDNN is held to AVX2); counts 2 FLOP per FMA lane. The best
// of 20 ms samples over `seconds`.
double measure_fp32_peak_gflops(int max_lanes = 16, double seconds = 0.3);
// The vector width measure_fp32_peak_gflops(max_lanes) uses, in floats.
int widest_fp32_lanes(int max_lanes = 16);

// STREAM's triad a[i] = b[i] + s * c[i] over three float arrays of `array_bytes` each, split
// statically over the OpenMP pool (each thread touches its own part first, so the pages are its
// own): the best of repeated passes in GB/s, counting 3 x array_bytes per pass as STREAM does.
// Arrays several times the last-level cache measure main memory; ones that fit each thread's
// share of L2 measure the cache.
double measure_triad_gbs(size_t array_bytes, double seconds = 0.2);

}  // namespace hdr

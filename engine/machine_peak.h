// The machine's FP32 peak, measured in the same run as a benchmark (the % of peak a benchmark
// reports is then a ratio of two numbers taken on the same, possibly shared, machine).
#pragma once

namespace hdr {

// GFLOP/s of independent fused multiply-adds on every thread of the OpenMP pool, with the
// widest vectors this CPU has (AVX-512, AVX2 or SSE, chosen at run time); counts 2 FLOP per FMA
// lane.
double measure_fp32_peak_gflops(double seconds = 0.3);

}  // namespace hdr

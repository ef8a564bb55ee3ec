// What a ProfilingBackend measured, as the JSON `hdr bench kernels` and `hdr train --profile`
// print and store (schema in docs/profiling.md), and as a table.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/profile/profiling_backend.h"

namespace hdr::cli {

nlohmann::json peaks_json(const DevicePeaks& peaks);

// One entry per row: calls per step, median / p10 / p90 per call (ms), time per step and share of
// the step, FLOPs and bytes per call, GFLOP/s and GB/s at the median; with peaks, the roof the
// op is under ("memory" when its FLOP per byte is below the machine's balance, else "compute")
// and the percentage of that roof reached. Then "parts": time per step of each scope.
nlohmann::json op_profile_json(const std::vector<OpRow>& rows, int64_t steps, const DevicePeaks* peaks);

// The profile as two tables: by part of the step (scope), then op by op.
void print_op_profile(const nlohmann::json& profile);

// "101.2 GFLOP/s FP32 (measured: ...), memory 20.3 GB/s (...)[, L2 ...]"
void print_peaks(const nlohmann::json& peaks);

}  // namespace hdr::cli

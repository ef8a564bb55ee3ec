// What a ProfilingBackend measured, as the JSON `hdr bench kernels` and `hdr train --profile`
// print and store (schema in docs/profiling.md), and as a table.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/profile/profiling_backend.h"

namespace hdr::cli {

nlohmann::json peaks_json(const DevicePeaks& peaks);

// One entry per row: calls per step, median / p10 / p90 per call (ms), time per step and share of
// the step, FLOPs and bytes per call, GFLOP/s and GB/s at the median; with peaks, the roof the
// op is under ("memory" when its FLOP per byte is below the machine's balance, else "compute")
// and the percentage of that roof reached (put_percent_of_peak; "peak_under_measured" at the top
// when any op beat its roof). Then "parts": time per step of each scope.
nlohmann::json op_profile_json(const std::vector<OpRow>& rows, int64_t steps, const DevicePeaks* peaks);

// j["percent_of_peak"] = 100 * value / peak; a value above the peak means the peak was
// under-measured (another process held a core while it was sampled), so then the percentage is
// null and j["peak_under_measured"] is true rather than a figure above 100%.
void put_percent_of_peak(nlohmann::json& j, double value, double peak);
// "37.5%" or "above peak" for an object put_percent_of_peak filled; "" for one it did not.
std::string percent_of_peak_text(const nlohmann::json& j);

// The profile as two tables: by part of the step (scope), then op by op.
void print_op_profile(const nlohmann::json& profile);

// "101.2 GFLOP/s FP32 (measured: ...), memory 20.3 GB/s (...)[, L2 ...]"
void print_peaks(const nlohmann::json& peaks);

}  // namespace hdr::cli

// `hdr bench compare A.json B.json`: two results of `hdr bench --json` (or the profile.json of
// `hdr train --profile`) side by side, device by device: train and inference throughput, and each
// op of the step matched by part, op and shape, with B's speed-up over A.
#pragma once

#include <string>

namespace hdr::cli {

// The value of "schema" in every JSON hdr bench writes; docs/profiling.md documents the format. A
// change that removes or redefines a field gets a new version: /2 made train's and infer's
// percent_of_peak that of the FLOPs performed. `bench compare` reads /1 as well (what it compares,
// the ops and images/s, kept their meaning).
inline constexpr const char* kBenchSchema = "hdr-bench/2";
inline constexpr const char* kComparableSchema = "hdr-bench/1";

// Prints the comparison; InputError naming the file for one that is not a readable result.
void compare_bench_files(const std::string& a, const std::string& b);

}  // namespace hdr::cli

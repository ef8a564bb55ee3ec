// `hdr bench compare A.json B.json`: two results of `hdr bench --json` (or the profile.json of
// `hdr train --profile`) side by side, device by device: train and inference throughput, and each
// op of the step matched by part, op and shape, with B's speed-up over A.
#pragma once

#include <string>

namespace hdr::cli {

// The value of "schema" in every JSON hdr bench writes; docs/profiling.md documents the format. A
// change that removes or redefines a field gets a new version.
inline constexpr const char* kBenchSchema = "hdr-bench/1";

// Prints the comparison; InputError naming the file for one that is not a readable result.
void compare_bench_files(const std::string& a, const std::string& b);

}  // namespace hdr::cli

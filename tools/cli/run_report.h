// What `hdr train` and `hdr eval` show about a model's test-set evaluation beyond the accuracy:
// the classification report and confusion matrix as terminal tables, report.html with its
// charts, and (for a training run) run.json for `hdr compare`.
#pragma once

#include <filesystem>

#include "engine/backends/backend.h"
#include "engine/io/config.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"
#include "engine/train/trainer.h"

namespace hdr::cli {

// After `hdr train`: prints the tables, writes report.html, the charts and
// run.json into out_dir, and says where the report is.
void report_training_run(const Config& config, Backend& backend, const Datasets& data, const TrainResult& result,
                         const std::filesystem::path& out_dir);

// A parameter count as reports show it: "242,954 (704 non-trainable)".
std::string parameter_summary(const ParamCounts& counts);

// "2026-12-01 09:30 UTC": when a report was made.
std::string utc_now();

}  // namespace hdr::cli

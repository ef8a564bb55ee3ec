// A training run's folder as `hdr compare` reads it: run.json (what ran where, how fast, how
// well; written by `hdr train` beside model.hdr) and history.json (one record per epoch), and
// the comparison page that overlays several runs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>
#include "engine/io/run_records.h"

namespace hdr::report {

struct RunRecord {
  std::string model, config_source, device, hdr_version;
  std::vector<std::string> overrides;
  int64_t parameters = 0;
  int epochs = 0, best_epoch = 0;
  bool stopped_early = false;
  double wall_seconds = 0, images_per_second = 0;  // whole run; mean training throughput
  double test_accuracy = 0, test_loss = 0;
};

void write_run_record(const std::filesystem::path& dir, const RunRecord& run);

struct RunFolder {
  std::filesystem::path dir;
  RunRecord run;
  std::vector<EpochRecord> history;
};

// Reads dir/run.json and dir/history.json; InputError naming the file and what is wrong with it
// (missing, not JSON, a field missing or of the wrong type).
RunFolder read_run_folder(const std::filesystem::path& dir);

// One page: accuracy and loss of every run overlaid, and a table of accuracy, parameters,
// epochs, wall time and images/s per run.
std::string comparison_page(const std::vector<RunFolder>& runs);

}  // namespace hdr::report

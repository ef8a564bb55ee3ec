// What `hdr train` keeps in a checkpoint besides the weights, and how it is read back with every
// field checked (an odd field is an InputError naming the file, never a JSON library's message).
//
// Metadata (the checkpoint's JSON):
//   hdr_version, git_revision, backend    who wrote it, on what
//   config_source, overrides              the config as named and the --set arguments applied
//   resolved_config                       every config key as resolved (INI text): a load uses it,
//                                         so a default changed in a later hdr never changes an
//                                         old model (absent in checkpoints of older builds)
//   epochs_run, best_epoch, history       the epochs done, one record each
//   test                                  {count, loss, accuracy, confusion}: the final checkpoint
//   resume                                a run under way: where it stands and the state of its
//                                         schedules (TrainingState), version kResumeVersion
// Tensors: the weights ("<layer>.<param>"); a resumable checkpoint adds the optimizer moments
// ("moment1/...", "moment2/...") and, where early stopping restores the best weights, those
// ("best/...").
//
// Floats whose value may be infinite (the schedules' best values start at +-inf) are stored as
// JSON numbers when finite, else as the strings "inf", "-inf", "nan"; finite doubles survive
// nlohmann's shortest round-trip printing bit for bit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/checkpoint.h"
#include "engine/io/config.h"
#include "engine/io/run_records.h"

namespace hdr {

// The version of the `resume` object; a checkpoint with a newer one is refused by --resume.
inline constexpr int kResumeVersion = 1;

// Everything about a run beyond its tensors that continuing it exactly needs.
struct TrainingState {
  int epoch = 0;                              // 0-based epoch in progress (about to start when batch == 0)
  int batch = 0;                              // batches of that epoch done
  int64_t step = 0;                           // optimizer steps done in the run
  double loss_sum = 0, correct = 0;           // the epoch's metrics over those batches (as the device sums them)
  double epoch_seconds = 0, run_seconds = 0;  // time spent so far in the epoch and in the run
  PlateauState plateau{};
  EarlyStoppingState stopping{};
  double best_value = 0;  // the best loss so far when early stopping is off
  int best_epoch = 0;     // 1-based; 0: none yet
  int ranks = 1;          // the processes that trained it (mpirun -np); 1 in older checkpoints
  std::vector<EpochRecord> history;
};

struct TestSummary {
  int count = 0;
  double loss = 0, accuracy = 0;
};

struct RunMetadata {
  std::string hdr_version, git_revision, backend, config_source;
  std::vector<std::string> overrides;
  std::string resolved_config;  // empty in checkpoints of older builds
  int epochs_run = 0, best_epoch = 0;
  std::vector<EpochRecord> history;
  std::optional<TestSummary> test;      // the final checkpoint of a run
  std::optional<TrainingState> resume;  // a run under way
};

// The metadata JSON; `test` (the final checkpoint's) adds the confusion matrix too. Throws
// InputError naming config_source or the --set argument that is not valid UTF-8 (JSON text must
// be); the resolved config is refused earlier, by resolved_config_text.
std::string run_metadata_json(const RunMetadata& metadata, const EvalResult* test);

// The one JSON form of a run's epochs (a checkpoint's "history", history.json): an array of
// {epoch, loss, accuracy, val_loss, val_accuracy, lr, seconds, images_per_second}, numbers that
// are not finite as "inf", "-inf", "nan".
nlohmann::json history_json(const std::vector<EpochRecord>& history);
// And back, every field checked: an InputError naming `source` and the field ("history[2].loss")
// for anything else, or for epochs not numbered 1, 2, ...
std::vector<EpochRecord> parse_history(const nlohmann::json& history, const std::string& source);

// Where a run stands, for messages: "after epoch 2" (batches_done == 0) or "in epoch 3, after
// batch 17"; with the totals given (non-zero): "after epoch 2 of 5", "in epoch 3 of 5, after
// batch 17 of 100".
std::string describe_position(int epochs_done, int batches_done, int epochs = 0, int steps_per_epoch = 0);

// Reads metadata written by any hdr train (older ones lack fields, which stay empty; empty text
// is no metadata); `source`
// names the file in messages. Throws InputError for JSON that is not an object, a field of the
// wrong type, or a resume object of a newer version.
RunMetadata parse_run_metadata(const std::string& json, const std::string& source);

// The config a checkpoint was trained with: its resolved config when it has one, else its config
// text with its overrides (older builds). source, text and overrides are the run's own.
Config checkpoint_config(const Checkpoint& checkpoint, const RunMetadata& metadata, const std::string& source);

// A run to continue (hdr train --resume).
struct ResumePoint {
  std::filesystem::path file;  // the checkpoint
  Checkpoint checkpoint;
  RunMetadata metadata;  // metadata.resume is set
  Config config;         // the run's config, as resolved when the checkpoint was written
};

// Reads RUN_DIR/model.hdr, or the checkpoint file named. InputError when it is no checkpoint, is
// damaged, or holds no run under way (weights only: a run's best.hdr, a finished run's final
// model.hdr).
ResumePoint read_resume_point(const std::filesystem::path& run_dir_or_file);

// The config a resumed run trains with: the checkpoint's with `overrides` applied. `given`, the
// config file named on the command line (read with the same overrides), is only compared with
// the checkpoint's config: an InputError names every key where the two differ and no override
// names the key. Also refused: a run stopped within an epoch (resume.batch > 0) with overrides
// that change the epoch's batches (train.batch_size, train.seed, data.dir, data.train_limit,
// data.validation_split). What the overrides change is returned in `changes`.
Config resume_config(const ResumePoint& point, const Config* given, const std::vector<std::string>& overrides,
                     std::vector<ConfigChange>& changes);

}  // namespace hdr

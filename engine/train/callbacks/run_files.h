// The files a run leaves in its folder (the list is in trainer.h), as callbacks. Only the rank
// that writes (rank 0, or the only process) writes; every rank makes the same checks, so that
// they stop together. A failed write names the file and the step; what was written before stays.
//   CheckpointWriter  model.hdr (resumable: after every checkpoint_every-th epoch and when stopped
//                     on request; final: save_final), best.hdr when an epoch is the best so far.
//                     Comes after BestEpochTracker (reads improved() and its best weights).
//   HistoryWriter     history.csv and history.json after every epoch and at the end.
#pragma once

#include <filesystem>
#include <string>

#include "engine/io/config.h"
#include "engine/io/run_checkpoint.h"
#include "engine/train/callbacks/epoch_monitors.h"
#include "engine/train/callbacks/weight_averaging.h"
#include "engine/train/training_loop.h"

namespace hdr {

class CheckpointWriter : public TrainingCallback {
 public:
  // `resolved_config`: resolved_config_text(config). Throws InputError, before any training, for
  // what the metadata cannot hold and for an out_dir that cannot be written (prepare_output_dir).
  CheckpointWriter(const Config& config, std::string resolved_config, std::string backend_name, Model& model,
                   const WeightAveraging& weights, const BestEpochTracker& best, std::filesystem::path out_dir,
                   bool writes);
  const std::filesystem::path& file() const { return file_; }  // model.hdr
  // A resumed run: `file` holds the state it continues from.
  void resumed_from(const std::filesystem::path& file, const TrainingState& state);
  // Where a run that stops now leaves its work, for a TrainingDiverged message: "stopped; the
  // last good checkpoint is kept: runs/x/model.hdr (after epoch 2)", ...
  std::string kept_checkpoint() const;
  // A run stopped on request saved its state (not before its first step).
  bool saved_on_stop() const { return saved_on_stop_; }
  // The finished run's model.hdr: its weights (as they are in the model now) and its test result.
  void save_final(const TrainingLoop& loop, const EvalResult& test);

  // Refuses (TrainingDiverged) a validation loss that is not finite; then the files due.
  void on_epoch_end(TrainingLoop& loop, const EpochRecord& record) override;
  void on_run_end(TrainingLoop& loop) override;  // stopped on request: the resumable state

 private:
  RunMetadata metadata(const TrainingState& state) const;
  void save_resumable(const TrainingLoop& loop);
  void save(const std::filesystem::path& path, const RunMetadata& meta, const EvalResult* test,
            std::vector<NamedTensor> tensors);

  const Config& config_;
  const std::string resolved_config_, backend_name_;
  Model& model_;
  const WeightAveraging& weights_;
  const BestEpochTracker& best_;
  const std::filesystem::path out_dir_, file_;
  const bool writes_;
  std::string last_saved_;  // the last resumable checkpoint, for messages ("" while none)
  int best_kept_ = 0;       // the epoch best.hdr holds (0: none)
  bool saved_on_stop_ = false;
};

class HistoryWriter : public TrainingCallback {
 public:
  HistoryWriter(std::filesystem::path out_dir, bool writes) : out_dir_(std::move(out_dir)), writes_(writes) {}
  void write(const std::vector<EpochRecord>& history, const std::string& when) const;
  void on_epoch_end(TrainingLoop& loop, const EpochRecord& record) override;

 private:
  const std::filesystem::path out_dir_;
  const bool writes_;
};

}  // namespace hdr

// The callbacks that judge each epoch by a monitored metric of its record (Keras's names):
//   EarlyStopping      [early_stopping]: TrainingState::stopping (early_stopping.h's pure
//                      function); stops the run when it says so
//   ReduceLROnPlateau  [lr_schedule] kind = plateau: TrainingState::plateau (lr_schedule.h), whose
//                      rate the loop's next steps use
//   BestEpochTracker   TrainingState::best_epoch and best_value; with restore_best_weights, the
//                      best epoch's weights, put back at the end of the run
// BestEpochTracker comes after EarlyStopping, whose judgement it takes, and after
// WeightAveraging, whose average it keeps and whose end-of-run restore it overrides.
#pragma once

#include <string>
#include <vector>

#include "engine/io/config.h"
#include "engine/train/callbacks/weight_averaging.h"
#include "engine/train/training_loop.h"

namespace hdr {

class EarlyStopping : public TrainingCallback {
 public:
  explicit EarlyStopping(const EarlyStoppingSpec& spec) : spec_(spec) {}
  void on_run_begin(TrainingLoop& loop) override;  // a run resumed after its stopping epoch stops at once
  void on_epoch_end(TrainingLoop& loop, const EpochRecord& record) override;
  void on_run_end(TrainingLoop& loop) override;  // notes the stop

 private:
  const EarlyStoppingSpec& spec_;
  bool stopped_ = false;  // in this session
};

class ReduceLROnPlateau : public TrainingCallback {
 public:
  explicit ReduceLROnPlateau(const LrScheduleSpec& spec) : spec_(spec) {}
  void on_epoch_end(TrainingLoop& loop, const EpochRecord& record) override;

 private:
  const LrScheduleSpec& spec_;
};

// The best epoch: early stopping's own judgement (with its min_delta) when it runs, as Keras'
// restore_best_weights does; otherwise the lowest validation (or training) loss.
class BestEpochTracker : public TrainingCallback {
 public:
  BestEpochTracker(const EarlyStoppingSpec& stopping, bool has_validation, Model& model,
                   const WeightAveraging& weights);
  // Where the best weights are kept to be restored (early_stopping.restore_best_weights).
  bool restores() const { return restores_; }
  const std::string& monitor() const { return monitor_; }
  // The epoch just ended is the best so far.
  bool improved() const { return improved_; }
  // A resumable checkpoint's "best/" tensors, where kept; and back (InputError naming `source`
  // when the run kept none).
  std::vector<NamedTensor> tensors(const TrainingState& state) const;
  void resume_from(const std::vector<NamedTensor>& tensors, const TrainingState& state, const std::string& source);

  void on_epoch_end(TrainingLoop& loop, const EpochRecord& record) override;
  void on_run_end(TrainingLoop& loop) override;  // a finished run: the best weights back in the model

 private:
  const EarlyStoppingSpec& stopping_;
  const bool restores_;
  const std::string monitor_;
  Model& model_;
  const WeightAveraging& weights_;
  Model::Snapshot best_;  // the best epoch's evaluated weights, where they are to be restored
  bool improved_ = false;
};

// The state a run that starts afresh begins with (the schedules' and the best epoch's).
TrainingState fresh_training_state(const Config& config);

}  // namespace hdr

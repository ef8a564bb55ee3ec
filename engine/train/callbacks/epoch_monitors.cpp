#include "engine/train/callbacks/epoch_monitors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "engine/core/errors.h"
#include "engine/train/early_stopping.h"
#include "engine/train/lr_schedule.h"
#include "engine/train/trainer.h"

namespace hdr {

TrainingState fresh_training_state(const Config& config) {
  TrainingState s;
  s.plateau = plateau_start(config.lr_schedule, config.train.learning_rate);
  s.stopping = early_stopping_start(config.early_stopping);
  s.best_value = INFINITY;  // of the best monitor when early stopping is off (a loss)
  return s;
}

void EarlyStopping::on_run_begin(TrainingLoop& loop) {
  if (loop.state().stopping.stop) loop.stop_training();
}

void EarlyStopping::on_epoch_end(TrainingLoop& loop, const EpochRecord& r) {
  if (!spec_.enabled) return;
  TrainingState& s = loop.state();
  s.stopping = early_stopping_after_epoch(spec_, s.stopping, float(monitored_value(r, spec_.monitor)), r.epoch - 1);
  if (!s.stopping.stop) return;
  stopped_ = true;
  loop.stop_training();
}

void EarlyStopping::on_run_end(TrainingLoop& loop) {
  if (stopped_)
    loop.note(fmt::format("Early stopping: no improvement of {} for {} epochs (best epoch {})", spec_.monitor,
                          spec_.patience, loop.state().best_epoch));
}

void ReduceLROnPlateau::on_epoch_end(TrainingLoop& loop, const EpochRecord& r) {
  if (spec_.kind != ScheduleKind::kPlateau) return;
  PlateauState& plateau = loop.state().plateau;
  plateau = plateau_after_epoch(spec_, plateau, float(monitored_value(r, spec_.monitor)));
}

namespace {
std::string best_monitor_of(const EarlyStoppingSpec& stopping, bool has_validation) {
  if (stopping.enabled) return stopping.monitor;
  return has_validation ? "val_loss" : "loss";
}
}  // namespace

BestEpochTracker::BestEpochTracker(const EarlyStoppingSpec& stopping, bool has_validation, Model& model,
                                   const WeightAveraging& weights)
    : stopping_(stopping),
      restores_(stopping.enabled && stopping.restore_best_weights),
      monitor_(best_monitor_of(stopping, has_validation)),
      model_(model),
      weights_(weights) {}

std::vector<NamedTensor> BestEpochTracker::tensors(const TrainingState& state) const {
  if (!restores_ || state.best_epoch == 0) return {};
  return model_.tensors(best_, "best/");
}

void BestEpochTracker::resume_from(const std::vector<NamedTensor>& tensors, const TrainingState& state,
                                   const std::string& source) {
  if (!restores_ || state.best_epoch == 0) return;
  const bool kept = std::any_of(tensors.begin(), tensors.end(),
                                [](const NamedTensor& t) { return t.name.starts_with("best/"); });
  if (!kept)
    throw InputError(fmt::format("{}: the run kept no best weights (early_stopping.restore_best_weights was off), "
                                 "so it cannot continue with them restored",
                                 source));
  best_ = model_.snapshot_from(tensors, "best/", source);
}

void BestEpochTracker::on_epoch_end(TrainingLoop& loop, const EpochRecord& r) {
  TrainingState& s = loop.state();
  if (stopping_.enabled) {
    improved_ = s.stopping.improved;
  } else {
    const double value = monitored_value(r, monitor_);
    improved_ = value < s.best_value;
    if (improved_) s.best_value = value;
  }
  if (!improved_) return;
  s.best_epoch = r.epoch;
  if (restores_) best_ = weights_.evaluated_weights();
}

void BestEpochTracker::on_run_end(TrainingLoop& loop) {
  if (loop.stopped_on_request() || !restores_ || loop.state().best_epoch == 0) return;
  model_.restore(best_);
  loop.note(fmt::format("Restored the {}weights of epoch {} (best {})", weights_.active() ? "averaged " : "",
                        loop.state().best_epoch, monitor_));
}

}  // namespace hdr

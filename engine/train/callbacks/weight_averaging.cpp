#include "engine/train/callbacks/weight_averaging.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/core/errors.h"

namespace hdr {

WeightAveraging::WeightAveraging(Model& model, Backend& backend, float ema, ProfilingBackend* profiler)
    : model_(model), backend_(backend), ema_(ema), profiler_(profiler) {}

Model::Snapshot WeightAveraging::evaluated_weights() const {
  return average_ ? average_->snapshot() : model_.snapshot();
}

std::vector<NamedTensor> WeightAveraging::tensors() const {
  if (!average_) return {};
  return model_.tensors(average_->snapshot(), "ema/");
}

void WeightAveraging::resume_from(const std::vector<NamedTensor>& tensors, const std::string& source) {
  if (!active()) return;
  const bool kept = std::any_of(tensors.begin(), tensors.end(),
                                [](const NamedTensor& t) { return t.name.starts_with("ema/"); });
  if (!kept)
    throw InputError(fmt::format("{}: the run kept no weight average (train.ema was 0), so it cannot continue with "
                                 "train.ema = {}",
                                 source, ema_));
  average_.emplace(model_, backend_, ema_);
  average_->restore(model_.snapshot_from(tensors, "ema/", source));
}

void WeightAveraging::on_run_begin(TrainingLoop&) {
  if (active() && !average_) average_.emplace(model_, backend_, ema_);
}

void WeightAveraging::on_step_end(TrainingLoop& loop) {
  if (!average_) return;
  if (profiler_) profiler_->set_scope("weight average");
  average_->update(loop.state().step);
  if (profiler_) profiler_->set_scope("");
}

void WeightAveraging::on_run_end(TrainingLoop& loop) {
  if (average_ && !loop.stopped_on_request()) model_.restore(average_->snapshot());
}

}  // namespace hdr

// [train] ema as a callback: the average of the model's weights (weight_average.h) folded in after
// every optimizer step. Where there is one, it is what the run evaluates, keeps as its best
// epoch, saves in best.hdr and ends with; otherwise those are the model's own weights.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/profile/profiling_backend.h"
#include "engine/train/training_loop.h"
#include "engine/train/weight_average.h"

namespace hdr {

class WeightAveraging : public TrainingCallback {
 public:
  // ema == 0: no average (every call below then works on the model's own weights). The average
  // starts at the model's weights when the run begins (or at a resumed run's, from its checkpoint).
  WeightAveraging(Model& model, Backend& backend, float ema, ProfilingBackend* profiler);
  bool active() const { return ema_ > 0.0f; }
  // The weights validation, the test and saved models use.
  Model::Snapshot evaluated_weights() const;
  // Runs fn() with the evaluated weights in the model, the live (training) ones put back after.
  template <class Fn>
  auto with_evaluated_weights(Fn&& fn) {
    if (!average_) return fn();
    const Model::Snapshot live = model_.snapshot();
    model_.restore(average_->snapshot());
    auto result = fn();
    model_.restore(live);
    return result;
  }
  // A resumable checkpoint's "ema/" tensors (none without an average), and back (InputError
  // naming `source` when the run kept none).
  std::vector<NamedTensor> tensors() const;
  void resume_from(const std::vector<NamedTensor>& tensors, const std::string& source);

  void on_run_begin(TrainingLoop& loop) override;
  void on_step_end(TrainingLoop& loop) override;
  // A finished run ends with the average in the model (BestEpochTracker, after this one, may put
  // the best epoch's there instead).
  void on_run_end(TrainingLoop& loop) override;

 private:
  Model& model_;
  Backend& backend_;
  const float ema_;
  ProfilingBackend* const profiler_;
  std::optional<WeightAverage> average_;
};

}  // namespace hdr

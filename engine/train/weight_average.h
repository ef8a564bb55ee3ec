// The exponential moving average of a model's weights ([train] ema; Polyak averaging). The
// decay of update t is min(ema, (1 + t) / (10 + t)), as TensorFlow's ExponentialMovingAverage
// with num_updates, so that the first hundreds of steps are not dominated by the initial
// weights. The batch-norm moving statistics are averaged along with the trainable values (as
// timm's ModelEmaV2 does), so the averaged model's statistics belong to averaged weights.
#pragma once

#include <cstdint>

#include "engine/backends/device_array.h"
#include "engine/nn/model.h"

namespace hdr {

// The decay applied by optimizer step `step` (1-based) for [train] ema = `ema`.
float average_decay(float ema, int64_t step);

class WeightAverage {
 public:
  // Starts at the model's current weights.
  WeightAverage(Model& model, Backend& backend, float ema);
  // Folds the model's weights in after optimizer step `step` (1-based).
  void update(int64_t step);
  // Host copies, laid out as Model::Snapshot: what is evaluated, saved and resumed.
  Model::Snapshot snapshot() const;
  void restore(const Model::Snapshot& s);

 private:
  Model& model_;
  Backend& backend_;
  float ema_;
  DeviceArray<float> values_, state_;
};

}  // namespace hdr

#include "engine/train/weight_average.h"

#include <algorithm>

namespace hdr {

float average_decay(float ema, int64_t step) {
  const double warmup = double(1 + step) / double(10 + step);
  return float(std::min(double(ema), warmup));
}

WeightAverage::WeightAverage(Model& model, Backend& backend, float ema)
    : model_(model),
      backend_(backend),
      ema_(ema),
      values_(backend, size_t(model.counts().trainable)),
      state_(backend, size_t(model.counts().non_trainable)) {
  restore(model.snapshot());
}

void WeightAverage::update(int64_t step) {
  const float decay = average_decay(ema_, step);
  backend_.weight_average(
      {.count = int64_t(values_.size()), .decay = decay, .params = model_.values(), .average = values_.data()});
  backend_.weight_average(
      {.count = int64_t(state_.size()), .decay = decay, .params = model_.state(), .average = state_.data()});
}

Model::Snapshot WeightAverage::snapshot() const { return Model::Snapshot{values_.to_host(), state_.to_host()}; }

void WeightAverage::restore(const Model::Snapshot& s) {
  values_.upload(s.values);
  state_.upload(s.state);
}

}  // namespace hdr

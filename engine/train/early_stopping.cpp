// Keras EarlyStopping as a pure state update; see early_stopping.h for the rules.
#include "engine/train/early_stopping.h"

#include <limits>

#include "engine/train/lr_schedule.h"

namespace hdr {

EarlyStoppingState early_stopping_start(const EarlyStoppingSpec& spec) {
  const float inf = std::numeric_limits<float>::infinity();
  return {higher_is_better(spec.monitor) ? -inf : inf, 0, 0, false, false};
}

EarlyStoppingState early_stopping_after_epoch(const EarlyStoppingSpec& spec, EarlyStoppingState state, float metric,
                                              int epoch) {
  const bool maximise = higher_is_better(spec.monitor);
  state.wait += 1;
  state.improved = maximise ? metric > state.best + spec.min_delta : metric < state.best - spec.min_delta;
  if (state.improved) {
    state.best = metric;
    state.best_epoch = epoch;
    state.wait = 0;
  }
  state.stop = state.wait >= spec.patience && epoch > 0;
  return state;
}

}  // namespace hdr

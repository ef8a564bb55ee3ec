// Learning-rate schedules: see lr_schedule.h for the formulas and the Keras plateau rules.
// Arithmetic is done in double and rounded to float once, so a schedule's value does not
// depend on how many float roundings the formula happens to take.
#include "engine/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace hdr {

bool higher_is_better(const std::string& monitor) { return monitor.find("acc") != std::string::npos; }

namespace {

bool is_improvement(bool maximise, float metric, float best, float min_delta) {
  return maximise ? metric > best + min_delta : metric < best - min_delta;
}

// Share of the run done at step t of T, in [0, 1]; 0 when the length is unknown.
double progress(int64_t step, int64_t total_steps) {
  if (total_steps <= 0) return 0.0;
  return double(std::clamp<int64_t>(step, 0, total_steps)) / double(total_steps);
}

// (1 + cos(pi * x)) / 2: falls from 1 at x = 0 to 0 at x = 1.
double half_cosine(double x) { return (1.0 + std::cos(std::numbers::pi * x)) / 2.0; }

float step_decay_lr(const LrScheduleSpec& spec, float base_lr, int epoch) {
  const int drops = spec.step_epochs > 0 ? std::max(epoch, 0) / spec.step_epochs : 0;
  return float(double(base_lr) * std::pow(double(spec.factor), drops));
}

float cosine_lr(const LrScheduleSpec& spec, float base_lr, int64_t step, int64_t total_steps) {
  const double floor = spec.min_lr;
  return float(floor + (double(base_lr) - floor) * half_cosine(progress(step, total_steps)));
}

float onecycle_lr(const LrScheduleSpec& spec, float base_lr, int64_t step, int64_t total_steps) {
  const double peak = spec.max_lr > 0.0f ? double(spec.max_lr) : 10.0 * double(base_lr);
  const double start = peak / 25.0, floor = peak / 1e4;
  const double x = progress(step, total_steps);                              // t / T
  const double warmup = std::clamp(double(spec.warmup_fraction), 0.0, 1.0);  // W / T
  if (x < warmup) return float(start + (peak - start) * x / warmup);
  if (warmup >= 1.0) return float(peak);
  return float(floor + (peak - floor) * half_cosine((x - warmup) / (1.0 - warmup)));
}

}  // namespace

PlateauState plateau_start(const LrScheduleSpec& spec, float initial_lr) {
  const float inf = std::numeric_limits<float>::infinity();
  return {initial_lr, higher_is_better(spec.monitor) ? -inf : inf, 0, 0};
}

PlateauState plateau_after_epoch(const LrScheduleSpec& spec, PlateauState state, float metric) {
  if (state.cooldown_left > 0) {
    state.cooldown_left -= 1;
    state.wait = 0;
  }
  if (is_improvement(higher_is_better(spec.monitor), metric, state.best, spec.min_delta)) {
    state.best = metric;
    state.wait = 0;
  } else if (state.cooldown_left == 0) {
    state.wait += 1;
    if (state.wait >= spec.patience && state.lr > spec.min_lr) {
      state.lr = std::max(state.lr * spec.factor, spec.min_lr);
      state.cooldown_left = spec.cooldown;
      state.wait = 0;
    }
  }
  return state;
}

float scheduled_lr(const LrScheduleSpec& spec, float base_lr, float plateau_lr, int epoch, int64_t step,
                   int64_t total_steps) {
  switch (spec.kind) {
    case ScheduleKind::kConstant: return base_lr;
    case ScheduleKind::kPlateau: return plateau_lr;
    case ScheduleKind::kStep: return step_decay_lr(spec, base_lr, epoch);
    case ScheduleKind::kCosine: return cosine_lr(spec, base_lr, step, total_steps);
    case ScheduleKind::kOneCycle: return onecycle_lr(spec, base_lr, step, total_steps);
  }
  return base_lr;  // unreachable: every ScheduleKind is handled above
}

}  // namespace hdr

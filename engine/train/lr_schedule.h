// Learning-rate schedules as pure functions: the trainer keeps the state, calls
// plateau_after_epoch() once per epoch and scheduled_lr() before every optimizer step, so each
// schedule can be tested on a scripted sequence without a model.
//
// ReduceLROnPlateau follows Keras (tf.keras / Keras 3) step for step, including its quirks:
// cooldown zeroes `wait`, an improvement during cooldown still updates `best`, and once lr has
// hit min_lr `wait` keeps counting without further reductions.
//
// Conventions: `epoch` is 0-based; `step` t is the 0-based optimizer step and `total_steps` T
// the number of steps of the whole run, so t/T runs over [0, 1) and the last step sits just
// above the schedule's floor (as PyTorch's CosineAnnealingLR with T_max = T).
#pragma once

#include <cstdint>
#include <string>

#include "engine/io/config.h"
#include "engine/io/run_records.h"

namespace hdr {

// Keras' "auto" mode: metrics whose name contains "acc" are maximised, everything else
// (losses) minimised.
bool higher_is_better(const std::string& monitor);

PlateauState plateau_start(const LrScheduleSpec& spec, float initial_lr);

// Keras ReduceLROnPlateau.on_epoch_end, given this epoch's value of spec.monitor:
//   1. in cooldown: cooldown_left -= 1, wait = 0
//   2. improved (min: metric < best - min_delta; max: metric > best + min_delta):
//        best = metric, wait = 0
//   3. else, if no longer in cooldown: wait += 1; when wait >= patience and lr > min_lr:
//        lr = max(lr * factor, min_lr), cooldown_left = cooldown, wait = 0
// A NaN metric never counts as an improvement.
PlateauState plateau_after_epoch(const LrScheduleSpec& spec, PlateauState state, float metric);

// The learning rate for optimizer step `step` (0-based) of `total_steps`, in epoch `epoch`:
//   constant:  base_lr
//   plateau:   plateau_lr (PlateauState::lr, updated once per epoch)
//   step:      base_lr * factor^floor(epoch / step_epochs)
//   cosine:    min_lr + (base_lr - min_lr) * (1 + cos(pi * t / T)) / 2
//   onecycle:  peak = max_lr, or 10 * base_lr when max_lr == 0; W = warmup_fraction * T;
//              start = peak / 25, floor = peak / 1e4 (PyTorch's OneCycleLR divides its start
//              by a further 1e4; hdr anneals to peak / 1e4 instead)
//                t <  W:  start + (peak - start) * t / W                       (linear rise)
//                t >= W:  floor + (peak - floor) * (1 + cos(pi * (t - W) / (T - W))) / 2
// t is clamped to [0, T]; T <= 0 (unknown length) gives the schedule's value at t = 0.
float scheduled_lr(const LrScheduleSpec& spec, float base_lr, float plateau_lr, int epoch, int64_t step,
                   int64_t total_steps);

}  // namespace hdr

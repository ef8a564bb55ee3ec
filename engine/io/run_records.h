// What a run records and a checkpoint keeps: evaluation results, one record per epoch, and the
// state of the schedules (engine/train/lr_schedule.h, early_stopping.h) that resuming restores.
// Plain data, so that the checkpoint readers (engine/io) need nothing of the training code.
#pragma once

#include <cstdint>
#include <vector>

namespace hdr {

struct EvalResult {
  int count = 0, classes = 0;
  double loss = 0, accuracy = 0;
  std::vector<int64_t> confusion;    // classes x classes, row = true label, column = prediction
  std::vector<float> probabilities;  // count x classes softmax outputs, when asked for (reports)
};

struct EpochRecord {
  int epoch = 0;  // 1-based
  double loss = 0, accuracy = 0, val_loss = 0, val_accuracy = 0;
  double lr = 0, seconds = 0, images_per_second = 0;
};

struct PlateauState {
  float lr;           // learning rate for the next epoch
  float best;         // best monitored value so far; +inf (min mode) / -inf (max mode) at start
  int wait;           // epochs without improvement since the last reset
  int cooldown_left;  // epochs during which no reduction may happen
};

struct EarlyStoppingState {
  float best;      // best monitored value so far; +inf (min mode) / -inf (max mode) at start
  int best_epoch;  // 0-based epoch that produced `best`
  int wait;        // epochs since the best one
  bool improved;   // this epoch is the new best
  bool stop;       // training should end after this epoch
};

}  // namespace hdr

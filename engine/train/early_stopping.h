// Early stopping as a pure function of (state, this epoch's metric), with Keras' EarlyStopping
// semantics, so the trainer's stop decision can be tested on scripted sequences.
//
// Per epoch (Keras on_epoch_end, no baseline): wait += 1; if the metric improves on the best
// (min mode: metric < best - min_delta; max mode, for monitors containing "acc":
// metric > best + min_delta) then best = metric, best_epoch = epoch, wait = 0. Training stops
// when wait >= patience, never after the first epoch (so patience 0 still trains two epochs,
// as in Keras). A NaN metric never improves. With restore_best_weights the trainer snapshots
// the weights whenever `improved` is set and puts them back when `stop` is.
#pragma once

#include "engine/io/config.h"
#include "engine/io/run_records.h"

namespace hdr {

EarlyStoppingState early_stopping_start(const EarlyStoppingSpec& spec);

// `epoch` is 0-based.
EarlyStoppingState early_stopping_after_epoch(const EarlyStoppingSpec& spec, EarlyStoppingState state, float metric,
                                              int epoch);

}  // namespace hdr

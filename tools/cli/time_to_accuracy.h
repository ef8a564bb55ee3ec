// `hdr bench time-to-accuracy`: how long a recipe takes from MNIST on disk to a model scored on the
// test set, over several seeds. The clock covers reading the IDX files, building and initialising
// the model, every epoch (with the checkpoint each epoch writes) and the one final test
// evaluation; the process start-up, a first download of MNIST and the FP32 peak measurement are
// outside it. The recipe must be fixed in advance, so the test set decides nothing: the whole
// training set, no early stopping and no schedule that watches a validation result.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/backends/backend.h"
#include "engine/io/config.h"

namespace hdr::cli {

// Trains `config` with `seeds` seeds from first_seed on `backend`; the JSON holds each run (seed,
// accuracy, seconds, reached, and with measure_peak the FP32 peak measured just before it,
// outside the clock) and the means. InputError for a recipe that is not fixed in advance.
nlohmann::json time_to_accuracy(const Config& config, Backend& backend, double target_percent, int first_seed,
                                int seeds, bool measure_peak);

// The human-readable table of time_to_accuracy's result.
void print_time_to_accuracy(const nlohmann::json& r);

}  // namespace hdr::cli

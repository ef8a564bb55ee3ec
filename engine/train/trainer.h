// The training loop: shuffled epochs of augment -> forward -> loss -> backward -> optimizer
// on one backend, validation after each epoch, learning-rate schedule, early stopping with
// best-weight restore, history (CSV + JSON), checkpoints, and a final test-set evaluation.
//
// Files in out_dir, each written atomically and durably (write_file_atomically):
//   model.hdr        while the run is under way: the latest resumable checkpoint (after every
//                    [train] checkpoint_every-th epoch and when stopped by a request); at the
//                    end: the final model (best weights restored where asked, test result)
//   best.hdr         the weights of the best epoch so far, written when an epoch improves
//   history.csv/json one line per epoch
// A run stopped by a request, a failed write or a diverged loss leaves the last checkpoint
// written intact; a resumed run (TrainOptions::resume) continues bit for bit as the run would
// have gone on, given the same backend and thread count.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/io/config.h"
#include "engine/io/run_records.h"
#include "engine/nn/dataset.h"
#include "engine/train/training_loop.h"

namespace hdr {

class Communicator;
class ProfilingBackend;

struct TrainResult {
  std::vector<EpochRecord> history;
  int best_epoch = 0;
  bool stopped_early = false, interrupted = false;
  EvalResult test;  // not computed when interrupted
  double seconds = 0;
  std::filesystem::path checkpoint;
  // Where the run stands: epochs done, batches of the next epoch done, optimizer steps done;
  // whether an interrupted run saved a checkpoint (not when stopped before its first step).
  int epochs_done = 0, batches_done = 0, steps_per_epoch = 0;
  int64_t steps = 0;
  bool checkpoint_saved = false;
};

struct ResumePoint;  // engine/io/run_checkpoint.h

struct TrainOptions {
  std::filesystem::path out_dir = "runs/default";
  // Set by a signal handler: the run finishes its current step, saves a resumable checkpoint
  // and returns with `interrupted` set.
  const std::atomic<bool>* stop_requested = nullptr;
  const ResumePoint* resume = nullptr;  // continue this run instead of starting afresh
  // hdr train --finetune: a fresh run (new optimizer state, from step 0) that starts from these
  // weights instead of an initialisation; named by start_from_source in errors.
  const std::vector<NamedTensor>* start_from = nullptr;
  std::string start_from_source;
  std::function<void(int64_t step)> after_step;  // called after every optimizer step (1-based count)
  // hdr train --profile: the backend the run is given, wrapping the device's; its steps are timed
  // op by op there.
  ProfilingBackend* profiler = nullptr;
  // mpirun -np N: this process's rank among N, each training on its slice of every global batch
  // (null: one process). Only rank 0 writes files.
  Communicator* communicator = nullptr;
  // Told of every event of the run (engine/train/training_loop.h), after the run's own
  // measurements and before anything judges or writes the epoch: the console printer (hdr train:
  // tools/cli/training_progress.h) and the notes ("Early stopping: ...") are theirs to show.
  std::vector<TrainingCallback*> callbacks;
};

// Makes sure `dir` is a folder training can write into, creating it with its parents where
// needed: an InputError naming it and the reason otherwise (before any training is done).
void prepare_output_dir(const std::filesystem::path& dir);

// Runs (or, with options.resume, continues) training; engine/train/training_run.cpp. Prints
// nothing: what the user sees, options.callbacks show. Throws InputError for an unusable out_dir
// or a resume point that does not fit `config`, TrainingDiverged for a loss that is not finite,
// std::runtime_error naming a write that failed.
TrainResult train(const Config& config, Backend& backend, const Datasets& data, const TrainOptions& options);

// The metric an EpochRecord holds under a monitor name (loss, accuracy, val_loss, val_accuracy).
double monitored_value(const EpochRecord& r, const std::string& monitor);

}  // namespace hdr

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
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/communicator.h"
#include "engine/config.h"
#include "engine/dataset.h"
#include "engine/gradient_exchange.h"
#include "engine/model.h"

namespace hdr {

struct EvalResult {
  int count = 0, classes = 0;
  double loss = 0, accuracy = 0;
  std::vector<int64_t> confusion;  // classes x classes, row = true label, column = prediction
  std::vector<float> probabilities;  // count x classes softmax outputs, when asked for (reports)
};

struct EpochRecord {
  int epoch = 0;  // 1-based
  double loss = 0, accuracy = 0, val_loss = 0, val_accuracy = 0;
  double lr = 0, seconds = 0, images_per_second = 0;
};

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

struct ResumePoint;  // engine/run_checkpoint.h

struct TrainOptions {
  std::filesystem::path out_dir = "runs/default";
  bool progress = true;                         // the per-epoch line and live bar on stdout
  // Set by a signal handler: the run finishes its current step, saves a resumable checkpoint
  // and returns with `interrupted` set.
  const std::atomic<bool>* stop_requested = nullptr;
  const ResumePoint* resume = nullptr;  // continue this run instead of starting afresh
  std::function<void(int64_t step)> after_step;  // called after every optimizer step (1-based count)
  // hdr train --profile: the backend the run is given, wrapping the device's; its steps are timed
  // op by op there.
  ProfilingBackend* profiler = nullptr;
  // mpirun -np N: this process's rank among N, each training on its slice of every global batch
  // (null: one process). Only rank 0 writes files.
  Communicator* communicator = nullptr;
};

// The loss became NaN or infinite: training stops at once, names the epoch and step, and keeps
// the last checkpoint written.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How often the running loss is read back from the device to catch a divergence between the
// ends of epochs (a copy of two doubles).
inline constexpr int kDivergenceCheckSteps = 50;

// Makes sure `dir` is a folder training can write into, creating it with its parents where
// needed: an InputError naming it and the reason otherwise (before any training is done).
void prepare_output_dir(const std::filesystem::path& dir);

// What a caller may look at inside a step, on the device, before the optimizer changes anything:
// the logits after the forward pass and the gradients after the backward pass. `hdr selftest`
// compares the GPU's with the CPU's, so the step it checks is the one that trains.
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  virtual void logits(const float* device_logits, int n, int classes) = 0;
  virtual void gradients(const float* device_grads, size_t count) = 0;
};

// One optimizer step: augment the batch on the device, forward, softmax cross-entropy,
// backward, update. Owns the batch buffers (sized once); the trainer, `hdr bench` and
// `hdr selftest` run it.
class TrainStep {
 public:
  TrainStep(Model& model, Backend& backend, const Config& config);
  // While attached (not null), the step names its pieces on the profiler ("data", each layer's
  // forward and backward, "loss", "optimizer") and ends each step there. The profiler must be
  // the backend this step and its model run on.
  void attach_profile(ProfilingBackend* profiler);
  // Data-parallel runs (not null, more than one rank): the gradients are summed over the ranks,
  // each weighted by its share of the global batch, through the backend's exchange (layer by
  // layer during the backward pass where it overlaps), and the batch-norm moving statistics
  // averaged (unless synchronised), so that every rank applies the same update to the same
  // weights. `exchange` replaces the backend's (tests: an overlapping one on the CPU).
  void attach_communicator(Communicator* communicator, std::unique_ptr<GradientExchange> exchange = nullptr);
  // What sums the gradients ("" in one process).
  std::string exchange_description() const;
  // While attached (not null), the observer sees each step's logits and gradients (before they
  // are summed over ranks; an overlapping exchange may be summing them in place: one process only).
  void attach_observer(StepObserver* observer) { observer_ = observer; }
  // rows: the batch's n dataset rows (on the device); first_sample: the batch's position in the
  // epoch (keys dropout); metrics (device, 2 doubles) += loss sum and correct count. With a
  // communicator, n is this rank's slice (possibly empty) of a global batch of global_n.
  void run(const DeviceImages& data, const int32_t* rows, int n, int epoch, int first_sample, float lr,
           double* metrics, int global_n = 0);
  // A resumed run's step count (Adam's bias correction depends on it).
  void resume_at(int64_t steps_done) { step_ = steps_done; }

 private:
  void enter(const char* scope);  // names the ops that follow on the profiler, if attached
  bool synced_batch_norm() const { return spec_.sync_batchnorm && communicator_ && communicator_->size() > 1; }
  void finish_exchange(float share, bool overlapped);

  Model& model_;
  Backend& backend_;
  const TrainSpec& spec_;
  AugmentParams augment_;
  DeviceArray<float> x_, dlogits_;
  DeviceArray<uint8_t> labels_;
  int64_t step_ = 0;
  ProfilingBackend* profiler_ = nullptr;
  StepObserver* observer_ = nullptr;
  Communicator* communicator_ = nullptr;
  std::unique_ptr<GradientExchange> exchange_;  // with more than one rank
};

// The batch size evaluation uses when none is given.
inline constexpr int kEvalBatch = 256;

enum class KeepProbabilities : bool { kNo, kYes };

// Has the backend plan the batches evaluating `count` images runs: full ones and the last,
// partial one (Model::prepare). evaluate() calls it; a training run calls it for its sets before
// the first step.
void prepare_evaluation(Model& model, int count, int batch = kEvalBatch);

// The rows of a labelled set one evaluation scores: [first, first + count). A data-parallel run
// gives each rank its share and sums the results (count < 0: to the set's end).
struct RowRange {
  int first = 0, count = -1;
};

// Scores a model (inference mode) on the rows `rows` of a labelled set resident on the backend;
// with kYes the result also holds those images' class probabilities, in the set's order.
EvalResult evaluate(Model& model, Backend& backend, const DeviceImages& data, const AugmentParams& scaling,
                    KeepProbabilities keep = KeepProbabilities::kNo, int batch = kEvalBatch, RowRange rows = {});

// The AugmentParams that only scale and normalise (what evaluation and prediction use).
AugmentParams scaling_only(const DataSpec& data);

// Runs (or, with options.resume, continues) training; engine/training_run.cpp. Throws
// InputError for an unusable out_dir or a resume point that does not fit `config`,
// TrainingDiverged for a loss that is not finite, std::runtime_error naming a write that failed.
TrainResult train(const Config& config, Backend& backend, const Datasets& data, const TrainOptions& options);

// The metric an EpochRecord holds under a monitor name (loss, accuracy, val_loss, val_accuracy).
double monitored_value(const EpochRecord& r, const std::string& monitor);

}  // namespace hdr

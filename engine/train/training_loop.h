// The epoch loop of a training run, as events sent to callbacks (Keras's fit and its callbacks).
//
// The loop owns the iteration and nothing else: the position (epoch, batch, step, in the run's
// TrainingState), the learning rate of each step (lr_schedule.h's pure function), the stop
// request agreed by every rank, the check that the running loss is finite, the epoch's record
// (its sums, validation and timings) and the clock. What a run does beyond that, a callback does,
// each one concern: the console printer (tools/cli/training_progress.h), early stopping, the
// plateau schedule, the best epoch, the weight average, the checkpoint and history files
// (engine/train/callbacks/). The model is behind TrainingSteps, so that tests drive the loop with
// scripted losses and no model.
//
// Events, in the order the loop sends them (to every callback in the list's order):
//   on_note         a line for the user from any part of the run ("Early stopping: ...")
//   on_run_begin    once; the state is the start's (a resumed run's position)
//   on_epoch_begin  each epoch; a resumed one starts at state().batch > 0
//   on_step_end     after each optimizer step; state().batch and .step count the steps done
//   on_epoch_end    the epoch's record, complete (validation and seconds in it); the state has
//                   already moved on to the next epoch (batch 0), is in state().history, and is
//                   what a checkpoint written now resumes from. A callback may stop_training().
//   on_run_end      once, after the last epoch or (stopped_on_request()) between two steps
// A callback that reads what another one writes in the same event comes after it: the list's
// order is the contract (engine/train/training_run.cpp builds it and says why).
#pragma once

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/distributed/communicator.h"
#include "engine/io/config.h"
#include "engine/io/run_checkpoint.h"
#include "engine/io/run_records.h"

namespace hdr {

// An epoch's loss sum and correct count.
struct EpochSums {
  double loss = 0, correct = 0;
};

// What the loop drives: one optimizer step after another. The real one runs TrainStep on a model
// (engine/train/training_run.cpp); a test's fake returns scripted losses.
class TrainingSteps {
 public:
  virtual ~TrainingSteps() = default;
  // Epoch `epoch` (0-based) starts, with the sums of its batches done so far (a resumed epoch's,
  // on one rank; zero otherwise).
  virtual void begin_epoch(int epoch, const EpochSums& so_far) = 0;
  // One optimizer step on batch `batch` of the epoch at learning rate `lr`.
  virtual void run(int epoch, int batch, float lr) = 0;
  // This rank's sums of the epoch so far (a read of the device).
  virtual EpochSums local_sums() = 0;
  // What of the weights and the last step's gradients is NaN or infinite ("3 of 242,250
  // weights"), "" when nothing is: a scan on the device, read back as two counts.
  virtual std::string non_finite_parameters() = 0;
  // The epoch's sums over every rank, once the device is done (a collective).
  virtual EpochSums global_sums() = 0;
  // The epoch's validation: val_loss and val_accuracy into `record` where the run has a
  // validation set.
  virtual void validate(EpochRecord& record) = 0;
};

struct LoopSpec {
  int epochs = 1;
  int train_count = 0;  // images per epoch (over every rank)
  int batch_size = 1;   // global
  LrScheduleSpec schedule;
  float learning_rate = 0;  // the schedule's base
  int steps_per_epoch() const { return (train_count + batch_size - 1) / batch_size; }
};

class TrainingLoop;

// Every event does nothing unless overridden.
class TrainingCallback {
 public:
  virtual ~TrainingCallback() = default;
  virtual void on_note(TrainingLoop&, const std::string& /*line*/) {}
  virtual void on_run_begin(TrainingLoop&) {}
  virtual void on_epoch_begin(TrainingLoop&) {}
  virtual void on_step_end(TrainingLoop&) {}
  virtual void on_epoch_end(TrainingLoop&, const EpochRecord&) {}
  virtual void on_run_end(TrainingLoop&) {}
};

// The loss became NaN or infinite: training stops at once, names the epoch and step, and keeps
// the last checkpoint written.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How often the running loss is read back from the device, and the weights and gradients
// scanned for NaN and infinities, to catch a divergence between the ends of epochs (two copies
// of two numbers and a pass over about 2 MB for cnn_bn's parameters).
inline constexpr int kDivergenceCheckSteps = 50;

class TrainingLoop {
 public:
  // `start`: a fresh run's state, or a resumed one's (its run_seconds carry on). `stop_requested`
  // (may be null): set by a signal handler; honoured between any two steps, on every rank at the
  // same step.
  TrainingLoop(const LoopSpec& spec, TrainingSteps& steps, std::vector<TrainingCallback*> callbacks,
               TrainingState start, Communicator& communicator, const std::atomic<bool>* stop_requested);

  // Runs the epochs left. Throws TrainingDiverged (from the loop: naming the epoch and step) and
  // whatever a callback throws.
  void run();

  // For callbacks.
  const LoopSpec& spec() const { return spec_; }
  TrainingState& state() { return state_; }
  const TrainingState& state() const { return state_; }
  const Communicator& communicator() const { return communicator_; }
  double lr() const { return lr_; }  // of the last step
  double epoch_seconds() const;      // since the epoch began (a resumed one's before, too)
  double run_seconds() const;        // of the whole run, earlier sessions included
  int images_done() const;           // of the epoch, over every rank
  EpochSums local_sums() { return steps_.local_sums(); }
  void stop_training() { stop_training_ = true; }  // after the current epoch (early stopping)
  bool stopped_on_request() const { return stopped_on_request_; }
  void note(const std::string& line);  // on_note to every callback

 private:
  bool stop_requested() const;
  bool train_epoch();  // false when stopped by a request before the epoch's end
  void end_epoch();
  void end_on_request();
  void check_finite(double loss_sum) const;
  void check_parameters();
  std::string position() const;  // "epoch 2, step 6 (batch 3 of 3)"
  template <class Event>
  void send(Event&& event) {
    for (TrainingCallback* c : callbacks_) event(*c);
  }

  using Clock = std::chrono::steady_clock;
  const LoopSpec spec_;
  TrainingSteps& steps_;
  const std::vector<TrainingCallback*> callbacks_;
  TrainingState state_;
  Communicator& communicator_;
  const std::atomic<bool>* const stop_requested_;
  const double seconds_before_;  // of the run, before this session (a resumed run)
  Clock::time_point session_start_ = Clock::now(), epoch_start_;
  double lr_ = 0;
  bool in_epoch_ = false;  // the device holds the sums of the epoch under way (not yet in state_)
  bool stop_training_ = false, stopped_on_request_ = false;
};

}  // namespace hdr

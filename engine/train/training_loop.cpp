// The epoch loop (training_loop.h). A stopped run is always between two steps: the request is
// checked before each step, at an epoch's end and before the run's end, never inside a step.
#include "engine/train/training_loop.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/train/lr_schedule.h"

namespace hdr {
namespace {

// How a loss that is not a number reads in a message (fmt would say "-nan").
const char* not_finite(double x) { return std::isnan(x) ? "NaN" : "infinite"; }

}  // namespace

TrainingLoop::TrainingLoop(const LoopSpec& spec, TrainingSteps& steps, std::vector<TrainingCallback*> callbacks,
                           TrainingState start, Communicator& communicator, const std::atomic<bool>* stop_requested)
    : spec_(spec),
      steps_(steps),
      callbacks_(std::move(callbacks)),
      state_(std::move(start)),
      communicator_(communicator),
      stop_requested_(stop_requested),
      seconds_before_(state_.run_seconds) {}

double TrainingLoop::epoch_seconds() const {
  return std::chrono::duration<double>(Clock::now() - epoch_start_).count();
}

double TrainingLoop::run_seconds() const {
  return seconds_before_ + std::chrono::duration<double>(Clock::now() - session_start_).count();
}

int TrainingLoop::images_done() const { return std::min(spec_.train_count, state_.batch * spec_.batch_size); }

void TrainingLoop::note(const std::string& line) {
  send([&](TrainingCallback& c) { c.on_note(*this, line); });
}

// A stop request, agreed by every rank (a data-parallel run stops at the same step everywhere).
bool TrainingLoop::stop_requested() const {
  const bool mine = stop_requested_ && stop_requested_->load();
  return communicator_.size() > 1 ? communicator_.any(mine) : mine;
}

void TrainingLoop::run() {
  send([&](TrainingCallback& c) { c.on_run_begin(*this); });
  while (state_.epoch < spec_.epochs && !stop_training_) {
    if (stop_requested() || !train_epoch()) return end_on_request();
    end_epoch();
  }
  if (stop_requested()) return end_on_request();
  send([&](TrainingCallback& c) { c.on_run_end(*this); });
}

bool TrainingLoop::train_epoch() {
  const int epoch = state_.epoch;
  const int64_t total_steps = int64_t(spec_.steps_per_epoch()) * spec_.epochs;
  epoch_start_ = Clock::now() -
                 std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(state_.epoch_seconds));
  // The sums of a resumed epoch so far are the run's, counted once: on rank 0.
  steps_.begin_epoch(epoch, communicator_.rank() == 0 ? EpochSums{state_.loss_sum, state_.correct} : EpochSums{});
  in_epoch_ = true;
  send([&](TrainingCallback& c) { c.on_epoch_begin(*this); });
  while (state_.batch < spec_.steps_per_epoch()) {
    if (stop_requested()) return false;
    lr_ = scheduled_lr(spec_.schedule, spec_.learning_rate, state_.plateau.lr, epoch, state_.step, total_steps);
    steps_.run(epoch, state_.batch, float(lr_));
    ++state_.batch;
    ++state_.step;
    if (state_.step % kDivergenceCheckSteps == 0) {
      check_finite(steps_.local_sums().loss);
      check_parameters();
    }
    send([&](TrainingCallback& c) { c.on_step_end(*this); });
  }
  return true;
}

void TrainingLoop::end_epoch() {
  const EpochSums sums = steps_.global_sums();
  const double train_seconds = epoch_seconds();
  in_epoch_ = false;
  check_finite(sums.loss);
  EpochRecord r;
  r.epoch = state_.epoch + 1;
  r.loss = sums.loss / spec_.train_count;
  r.accuracy = sums.correct / spec_.train_count;
  r.lr = lr_;
  r.images_per_second = spec_.train_count / train_seconds;
  steps_.validate(r);
  r.seconds = epoch_seconds();
  // The state is now that of the next epoch, about to start.
  state_.history.push_back(r);
  state_.epoch = r.epoch;
  state_.batch = 0;
  state_.loss_sum = state_.correct = state_.epoch_seconds = 0;
  send([&](TrainingCallback& c) { c.on_epoch_end(*this, r); });
}

void TrainingLoop::end_on_request() {
  stopped_on_request_ = true;
  if (in_epoch_) {  // else the state holds the epoch's sums already (zero at an epoch's start)
    const EpochSums sums = steps_.global_sums();
    check_finite(sums.loss);  // a diverged state is not worth resuming
    state_.loss_sum = sums.loss;
    state_.correct = sums.correct;
    state_.epoch_seconds = epoch_seconds();
    in_epoch_ = false;
  }
  send([&](TrainingCallback& c) { c.on_run_end(*this); });
}

// Throws TrainingDiverged when the epoch's loss sum so far is NaN or infinite.
void TrainingLoop::check_finite(double loss_sum) const {
  if (std::isfinite(loss_sum)) return;
  throw TrainingDiverged(fmt::format("training diverged: the loss became {} by {}", not_finite(loss_sum), position()));
}

// Throws TrainingDiverged when a weight or gradient is NaN or infinite, which the loss may not
// show yet (a unit whose output a ReLU or a zero weight hides).
void TrainingLoop::check_parameters() {
  const std::string bad = steps_.non_finite_parameters();
  if (bad.empty()) return;
  throw TrainingDiverged(fmt::format("training diverged: {} NaN or infinite by {}", bad, position()));
}

std::string TrainingLoop::position() const {
  return fmt::format("epoch {}, step {} (batch {} of {})", state_.epoch + 1, state_.step, state_.batch,
                     spec_.steps_per_epoch());
}

}  // namespace hdr

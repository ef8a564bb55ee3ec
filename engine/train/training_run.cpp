// train(): one run, assembled from the epoch loop (training_loop.h), the steps it drives on the
// model (ModelSteps, model_steps.h) and the run's callbacks, in this order:
//
//   options.callbacks   the caller's (the console printer): they see each event first, so an
//                       epoch's line is printed before anything judges or writes it
//   WeightAveraging     folds each step into the average
//   after_step          options.after_step
//   EarlyStopping       state.stopping; before BestEpochTracker, which takes its judgement
//   ReduceLROnPlateau   state.plateau
//   BestEpochTracker    state.best_epoch, the best weights; after WeightAveraging, whose average
//                       it keeps and whose end-of-run restore it overrides
//   CheckpointWriter    model.hdr, best.hdr; after BestEpochTracker (improved(), best weights)
//   HistoryWriter       history.csv/json
// After the loop: the test set on the final weights, and the final model.hdr and history.
//
// Everything a run needs to go on is one TrainingState plus the model's tensors, so stopping
// and resuming is: save that state, load it, carry on. Bit-identical continuation rests on
// every random draw being a pure function of (seed, epoch, sample) and on restoring the
// device's running sums of the epoch (two doubles) exactly as they were.
#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "engine/core/errors.h"
#include "engine/inference/evaluate.h"
#include "engine/io/run_checkpoint.h"
#include "engine/train/callbacks/epoch_monitors.h"
#include "engine/train/callbacks/run_files.h"
#include "engine/train/callbacks/weight_averaging.h"
#include "engine/train/model_steps.h"
#include "engine/train/sharded_evaluation.h"
#include "engine/train/trainer.h"
#include "engine/train/training_loop.h"

namespace hdr {
namespace {

// TrainOptions::after_step as a callback.
class AfterStep : public TrainingCallback {
 public:
  explicit AfterStep(const std::function<void(int64_t)>& fn) : fn_(fn) {}
  void on_step_end(TrainingLoop& loop) override {
    if (fn_) fn_(loop.state().step);
  }

 private:
  const std::function<void(int64_t)>& fn_;
};

class TrainingRun {
 public:
  TrainingRun(const Config& config, Backend& backend, const Datasets& data, const TrainOptions& options);
  TrainResult run();

 private:
  void resume_from(const ResumePoint& point);

  const Config& config_;
  const TrainOptions& options_;
  Communicator single_process_;
  Communicator& communicator_;
  const std::string resolved_config_;
  Model model_;
  const DeviceImages train_set_, val_set_, test_set_;
  ShardedEvaluation evaluation_;
  WeightAveraging averaging_;
  AfterStep after_step_;
  EarlyStopping early_stopping_;
  ReduceLROnPlateau plateau_;
  BestEpochTracker best_;
  CheckpointWriter checkpoints_;
  HistoryWriter history_;
  ModelSteps steps_;
  TrainingState start_;
};

TrainingRun::TrainingRun(const Config& config, Backend& backend, const Datasets& data, const TrainOptions& options)
    : config_(config),
      options_(options),
      communicator_(options.communicator ? *options.communicator : single_process_),
      resolved_config_(resolved_config_text(config)),  // refuses an unstorable config before any work
      model_(config.model, backend, std::max(config.train.batch_size, kEvalBatch)),
      train_set_(backend, data.train),
      val_set_(backend, data.validation),
      test_set_(backend, data.test),
      evaluation_(model_, backend, communicator_, scaling_only(config.data)),
      averaging_(model_, backend, config.train.ema, options.profiler),
      after_step_(options.after_step),
      early_stopping_(config.early_stopping),
      plateau_(config.lr_schedule),
      best_(config.early_stopping, val_set_.count > 0, model_, averaging_),
      checkpoints_(config, resolved_config_, backend.name(), model_, averaging_, best_, options.out_dir,
                   communicator_.rank() == 0),
      history_(options.out_dir, communicator_.rank() == 0),
      steps_(model_, backend, config, communicator_, options.profiler, train_set_, val_set_, test_set_, evaluation_,
             averaging_),
      start_(fresh_training_state(config)) {
  if (options.resume)
    resume_from(*options.resume);
  else if (options.start_from)
    model_.load_tensors(*options.start_from, options.start_from_source);
}

void TrainingRun::resume_from(const ResumePoint& point) {
  const std::string source = point.file.string();
  model_.load_tensors(point.checkpoint.tensors, source);
  model_.load_optimizer_tensors(point.checkpoint.tensors, source);
  start_ = *point.metadata.resume;
  const int steps_per_epoch = (train_set_.count + config_.train.batch_size - 1) / config_.train.batch_size;
  if (start_.batch >= steps_per_epoch)
    throw InputError(fmt::format("{}: stopped after batch {} of epoch {}, but the config makes epochs of {} batches",
                                 source, start_.batch, start_.epoch + 1, steps_per_epoch));
  best_.resume_from(point.checkpoint.tensors, start_, source);
  averaging_.resume_from(point.checkpoint.tensors, source);
  // The plateau schedule keeps its current rate in the state; a learning rate changed on purpose
  // (--set train.learning_rate) restarts it there, as the user asked.
  if (config_.train.learning_rate != point.config.train.learning_rate) start_.plateau.lr = config_.train.learning_rate;
  steps_.resume_at(start_.step);
  checkpoints_.resumed_from(point.file, start_);
}

TrainResult TrainingRun::run() {
  std::vector<TrainingCallback*> callbacks = options_.callbacks;
  callbacks.insert(callbacks.end(),
                   {&averaging_, &after_step_, &early_stopping_, &plateau_, &best_, &checkpoints_, &history_});
  const LoopSpec spec{config_.train.epochs, train_set_.count, config_.train.batch_size, config_.lr_schedule,
                      config_.train.learning_rate};
  TrainingLoop loop(spec, steps_, callbacks, start_, communicator_, options_.stop_requested);
  if (communicator_.size() > 1) loop.note("gradient exchange: " + steps_.exchange_description());
  try {
    loop.run();
  } catch (const TrainingDiverged& e) {  // what diverged and where, and what the run keeps
    throw TrainingDiverged(fmt::format("{}; {}", e.what(), checkpoints_.kept_checkpoint()));
  }

  const TrainingState& s = loop.state();
  TrainResult r;
  r.history = s.history;
  r.best_epoch = s.best_epoch;
  r.epochs_done = s.epoch;
  r.steps = s.step;
  r.steps_per_epoch = spec.steps_per_epoch();
  r.checkpoint = checkpoints_.file();
  if (loop.stopped_on_request()) {
    r.interrupted = true;
    r.checkpoint_saved = checkpoints_.saved_on_stop();
    r.batches_done = s.batch;
    r.seconds = loop.run_seconds();
    return r;
  }
  r.stopped_early = s.stopping.stop;
  r.test = evaluation_.evaluate(test_set_, KeepProbabilities::kYes);  // the weights the callbacks left
  r.seconds = loop.run_seconds();
  checkpoints_.save_final(loop, r.test);
  history_.write(s.history, "after the last epoch");
  return r;
}

}  // namespace

TrainResult train(const Config& config, Backend& backend, const Datasets& data, const TrainOptions& options) {
  TrainingRun run(config, backend, data, options);
  return run.run();
}

}  // namespace hdr

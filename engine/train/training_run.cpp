// train(): the epochs of one run, its checks and the files it leaves (the list is in trainer.h).
//
// Everything a run needs to go on is one TrainingState plus the model's tensors, so stopping
// and resuming is: save that state, load it, carry on. Bit-identical continuation rests on
// every random draw being a pure function of (seed, epoch, sample) and on restoring the
// device's running sums of the epoch (two doubles) exactly as they were.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "engine/backends/build_info.h"
#include "engine/core/atomic_file.h"
#include "engine/core/errors.h"
#include "engine/distributed/communicator.h"
#include "engine/inference/evaluate.h"
#include "engine/io/run_checkpoint.h"
#include "engine/profile/profiling_backend.h"
#include "engine/train/early_stopping.h"
#include "engine/train/lr_schedule.h"
#include "engine/train/train_step.h"
#include "engine/train/trainer.h"
#include "engine/train/train_step.h"
#include "engine/inference/evaluate.h"
#include "engine/train/weight_average.h"

namespace hdr {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
Clock::time_point seconds_ago(double seconds) {
  return Clock::now() - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void write_text(const fs::path& path, const std::string& text) {
  write_file_atomically(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// history.json holds the records as a checkpoint's metadata does (history_json).
void write_history(const fs::path& dir, const std::vector<EpochRecord>& history) {
  std::string csv = "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,images_per_second\n";
  for (const EpochRecord& r : history)
    csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6g},{:.3f},{:.1f}\n", r.epoch, r.loss, r.accuracy, r.val_loss,
                       r.val_accuracy, r.lr, r.seconds, r.images_per_second);
  write_text(dir / "history.csv", csv);
  write_text(dir / "history.json", history_json(history).dump(2) + "\n");
}

// The Keras-like progress bar: "  512/48000 [>.....] 2.1s 11420 img/s - loss: 0.1234 - accuracy: 0.9612"
std::string progress_line(int done, int total, double seconds, double loss, double acc) {
  constexpr int kWidth = 30;
  const int filled = total ? int(int64_t(kWidth) * done / total) : kWidth;
  std::string bar(size_t(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(size_t(kWidth - filled - 1), '.');
  return fmt::format("{:>6}/{} [{}] {:.1f}s {:.0f} img/s - loss: {:.4f} - accuracy: {:.4f}", done, total, bar,
                     seconds, seconds > 0 ? done / seconds : 0.0, loss, acc);
}

std::string best_monitor_of(const Config& config, bool has_validation) {
  if (config.early_stopping.enabled) return config.early_stopping.monitor;
  return has_validation ? "val_loss" : "loss";
}

// How a loss that is not a number reads in a message (fmt would say "-nan").
const char* not_finite(double x) { return std::isnan(x) ? "NaN" : "infinite"; }

// "runs/x/model.hdr (after epoch 2)", "runs/x/model.hdr (in epoch 3, after batch 17)".
std::string checkpoint_label(const fs::path& file, const TrainingState& s) {
  return fmt::format("{} ({})", file.string(), describe_position(s.epoch, s.batch));
}

// Runs `write`; a failed write's message (std::runtime_error: the file and the step that
// failed) gets `when` in front. Bad input and a divergence found before writing keep their own.
template <class Fn>
void writing(const std::string& when, Fn&& write) {
  try {
    write();
  } catch (const InputError&) {
    throw;
  } catch (const TrainingDiverged&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("{}: {}", when, e.what()));
  }
}

bool has_prefix(const std::vector<NamedTensor>& tensors, const std::string& prefix) {
  return std::any_of(tensors.begin(), tensors.end(), [&](const NamedTensor& t) { return t.name.starts_with(prefix); });
}

// The state of a run that starts afresh.
TrainingState fresh_state(const Config& config) {
  TrainingState s;
  s.plateau = plateau_start(config.lr_schedule, config.train.learning_rate);
  s.stopping = early_stopping_start(config.early_stopping);
  s.best_value = INFINITY;  // of the best monitor when early stopping is off (a loss)
  return s;
}

class TrainingRun {
 public:
  TrainingRun(const Config& config, Backend& backend, const Datasets& data, const TrainOptions& options);
  TrainResult run();

 private:
  void resume_from(const ResumePoint& point);
  bool train_epoch();  // false when stopped by a request before the epoch's end
  void end_epoch();
  void update_best(const EpochRecord& r);
  Model::Snapshot evaluated_weights() const;
  EvalResult evaluate_averaged(const DeviceImages& set);
  RowRange share_of(int count) const;
  EvalResult evaluate_sharded(const DeviceImages& set, KeepProbabilities keep = KeepProbabilities::kNo);
  void write_epoch_files(bool improved);
  TrainResult finish();
  TrainResult stop_on_request();

  // A stop request, agreed by every rank (a data-parallel run stops at the same step everywhere).
  bool stop_requested() const {
    const bool mine = options_.stop_requested && options_.stop_requested->load();
    return communicator_.size() > 1 ? communicator_.any(mine) : mine;
  }
  std::vector<double> device_metrics() const;
  std::vector<double> epoch_sums() const;  // the epoch's loss sum and correct count over every rank
  void check_finite(double loss_sum, int batches_done) const;
  void check_finite(const std::vector<NamedTensor>& tensors) const;
  std::string kept_checkpoint() const;
  RunMetadata metadata() const;
  void save_resumable();
  void save(const fs::path& path, const RunMetadata& meta, const EvalResult* test, std::vector<NamedTensor> tensors);
  void print_epoch_line(const EpochRecord& r);
  void draw_bar(Clock::time_point epoch_start, int done);

  const Config& config_;
  const TrainSpec& ts_;
  Backend& backend_;
  const TrainOptions& options_;
  Communicator single_process_;
  Communicator& communicator_;
  const bool writes_;  // rank 0 (or the only process) writes the run's files
  const bool has_validation_, restore_best_, live_bar_;
  const std::string best_monitor_, resolved_config_;
  Model model_;
  const DeviceImages train_set_, val_set_, test_set_;
  TrainStep train_step_;
  DeviceArray<int32_t> order_;
  DeviceArray<double> metrics_;  // the epoch's loss sum and correct count, summed on the device
  const AugmentParams scaling_;
  const int steps_per_epoch_;
  const int64_t total_steps_;

  TrainingState state_;
  std::optional<WeightAverage> average_;  // [train] ema > 0
  Model::Snapshot best_;  // the best epoch's weights (averaged ones with ema), kept where they are to be restored
  double lr_ = 0;         // of the last step
  Clock::time_point session_start_ = Clock::now(), epoch_start_, last_bar_;
  double seconds_before_ = 0;  // of the run, before this session (a resumed run)
  bool bar_drawn_ = false;
  bool in_epoch_ = false;   // metrics_ holds the sums of the epoch under way (train_epoch to end_epoch)
  std::string last_saved_;  // the last resumable checkpoint, for messages ("" while none)
  TrainResult result_;
};

TrainingRun::TrainingRun(const Config& config, Backend& backend, const Datasets& data, const TrainOptions& options)
    : config_(config),
      ts_(config.train),
      backend_(backend),
      options_(options),
      communicator_(options.communicator ? *options.communicator : single_process_),
      writes_(communicator_.rank() == 0),
      has_validation_(data.validation.count() > 0),
      restore_best_(config.early_stopping.enabled && config.early_stopping.restore_best_weights),
      live_bar_(options.progress && isatty(fileno(stdout))),
      best_monitor_(best_monitor_of(config, has_validation_)),
      resolved_config_(resolved_config_text(config)),  // refuses an unstorable config before any work
      model_(config.model, backend, std::max(config.train.batch_size, kEvalBatch)),
      train_set_(backend, data.train),
      val_set_(backend, data.validation),
      test_set_(backend, data.test),
      train_step_(model_, backend, config),
      order_(backend, size_t(train_set_.count)),
      metrics_(backend, 2),
      scaling_(scaling_only(config.data)),
      steps_per_epoch_((train_set_.count + ts_.batch_size - 1) / ts_.batch_size),
      total_steps_(int64_t(steps_per_epoch_) * ts_.epochs),
      state_(fresh_state(config)) {
  run_metadata_json(metadata(), nullptr);  // refuses what the metadata cannot hold before any work
  prepare_output_dir(options.out_dir);
  result_.checkpoint = options.out_dir / "model.hdr";
  result_.steps_per_epoch = steps_per_epoch_;
  model_.initialize(ts_.seed);
  // Every shape the run will see planned now: the first step, evaluation and partial batches
  // then create nothing.
  model_.prepare(share_of(std::min(ts_.batch_size, train_set_.count)).count, true);
  model_.prepare(share_of(train_set_.count % ts_.batch_size).count, true);
  prepare_evaluation(model_, share_of(val_set_.count).count);
  prepare_evaluation(model_, share_of(test_set_.count).count);
  if (ts_.ema > 0.0f) average_.emplace(model_, backend, ts_.ema);
  if (options.profiler) train_step_.attach_profile(options.profiler);
  train_step_.attach_communicator(&communicator_);
  if (options.progress && communicator_.size() > 1)
    fmt::print("gradient exchange: {}\n", train_step_.exchange_description());
  if (options.resume) resume_from(*options.resume);
}

void TrainingRun::resume_from(const ResumePoint& point) {
  const std::string source = point.file.string();
  model_.load_tensors(point.checkpoint.tensors, source);
  model_.load_optimizer_tensors(point.checkpoint.tensors, source);
  state_ = *point.metadata.resume;
  if (state_.batch >= steps_per_epoch_)
    throw InputError(fmt::format("{}: stopped after batch {} of epoch {}, but the config makes epochs of {} batches",
                                 source, state_.batch, state_.epoch + 1, steps_per_epoch_));
  if (restore_best_ && state_.best_epoch > 0) {
    if (!has_prefix(point.checkpoint.tensors, "best/"))
      throw InputError(fmt::format("{}: the run kept no best weights (early_stopping.restore_best_weights was off), "
                                   "so it cannot continue with them restored",
                                   source));
    best_ = model_.snapshot_from(point.checkpoint.tensors, "best/", source);
  }
  if (average_) {
    if (!has_prefix(point.checkpoint.tensors, "ema/"))
      throw InputError(fmt::format("{}: the run kept no weight average (train.ema was 0), so it cannot continue with "
                                   "train.ema = {}",
                                   source, ts_.ema));
    average_->restore(model_.snapshot_from(point.checkpoint.tensors, "ema/", source));
  }
  // The plateau schedule keeps its current rate in the state; a learning rate changed on purpose
  // (--set train.learning_rate) restarts it there, as the user asked.
  if (config_.train.learning_rate != point.config.train.learning_rate) state_.plateau.lr = ts_.learning_rate;
  train_step_.resume_at(state_.step);
  seconds_before_ = state_.run_seconds;
  last_saved_ = checkpoint_label(point.file, state_);
}

TrainResult TrainingRun::run() {
  // A request is honoured between any two steps, the end of an epoch and the final evaluation
  // included.
  while (state_.epoch < ts_.epochs && !state_.stopping.stop) {
    if (stop_requested() || !train_epoch()) return stop_on_request();
    end_epoch();
  }
  if (stop_requested()) return stop_on_request();
  return finish();
}

bool TrainingRun::train_epoch() {
  const int epoch = state_.epoch;
  epoch_start_ = seconds_ago(state_.epoch_seconds);
  order_.upload(shuffled_indices(train_set_.count, RandomKey{ts_.seed, uint32_t(epoch), kStreamShuffle}));
  // The sums of a resumed epoch so far are the run's, counted once: on rank 0.
  metrics_.upload(writes_ ? std::vector<double>{state_.loss_sum, state_.correct} : std::vector<double>{0, 0});
  in_epoch_ = true;
  if (options_.progress)
    fmt::print("Epoch {}/{}{}\n", epoch + 1, ts_.epochs,
               state_.batch > 0 ? fmt::format(" (resumed after batch {} of {})", state_.batch, steps_per_epoch_) : "");
  std::fflush(stdout);  // a watcher of the output sees the epoch start when it starts
  last_bar_ = Clock::now();
  for (; state_.batch < steps_per_epoch_; ++state_.batch) {
    // Checked before a step, never inside one: a stopped run is always between two steps.
    if (stop_requested()) return false;
    const int first = state_.batch * ts_.batch_size;
    const int n = std::min(ts_.batch_size, train_set_.count - first);
    // This rank's contiguous slice of the global batch; dropout stays keyed by the global sample
    // position and augmentation by the dataset row, so no random decision depends on the ranks.
    const RowRange share = share_of(n);
    const int lo = first + share.first;
    lr_ = scheduled_lr(config_.lr_schedule, ts_.learning_rate, state_.plateau.lr, epoch, state_.step, total_steps_);
    train_step_.run(train_set_, order_.data() + lo, share.count, epoch, lo, float(lr_), metrics_.data(), n);
    ++state_.step;
    if (average_) {
      if (options_.profiler) options_.profiler->set_scope("weight average");
      average_->update(state_.step);
      if (options_.profiler) options_.profiler->set_scope("");
    }
    if (options_.after_step) options_.after_step(state_.step);
    if (state_.step % kDivergenceCheckSteps == 0) check_finite(device_metrics()[0], state_.batch + 1);
    if (live_bar_ && seconds_since(last_bar_) > 0.25) draw_bar(epoch_start_, first + n);
  }
  return true;
}

void TrainingRun::draw_bar(Clock::time_point epoch_start, int done) {
  last_bar_ = Clock::now();
  // This rank's sums, over its share of the images done (no collective for a progress bar).
  const std::vector<double> m = device_metrics();
  const double seen = double(done) / communicator_.size();
  fmt::print("\r{}", progress_line(done, train_set_.count, seconds_since(epoch_start), m[0] / seen, m[1] / seen));
  std::fflush(stdout);
  bar_drawn_ = true;
}

// The epoch's sums so far on this rank. Reading them waits for the device, whose stream may be held
// up by the other ranks (behind an NCCL all-reduce): that wait is under the collective timeout.
std::vector<double> TrainingRun::device_metrics() const {
  const CommunicatorWait wait(communicator_, "reading the device's metrics");
  return metrics_.to_host();
}

std::vector<double> TrainingRun::epoch_sums() const {
  std::vector<double> m = device_metrics();
  communicator_.sum(m.data(), m.size());
  return m;
}

void TrainingRun::end_epoch() {
  {
    const CommunicatorWait wait(communicator_, "waiting for the device at the end of the epoch");
    backend_.synchronize();
  }
  const double train_seconds = seconds_since(epoch_start_);
  const std::vector<double> m = epoch_sums();
  in_epoch_ = false;
  check_finite(m[0], steps_per_epoch_);
  EpochRecord r;
  r.epoch = state_.epoch + 1;
  r.loss = m[0] / train_set_.count;
  r.accuracy = m[1] / train_set_.count;
  r.lr = lr_;
  r.images_per_second = train_set_.count / train_seconds;
  if (has_validation_) {
    const EvalResult v = evaluate_averaged(val_set_);
    r.val_loss = v.loss;
    r.val_accuracy = v.accuracy;
  }
  r.seconds = seconds_since(epoch_start_);
  print_epoch_line(r);
  if (has_validation_ && !std::isfinite(r.val_loss))
    throw TrainingDiverged(fmt::format("training diverged: the validation loss is {} after epoch {}; {}",
                                       not_finite(r.val_loss), r.epoch, kept_checkpoint()));

  state_.history.push_back(r);
  const int best_before = state_.best_epoch;
  update_best(r);
  if (config_.lr_schedule.kind == ScheduleKind::kPlateau)
    state_.plateau = plateau_after_epoch(config_.lr_schedule, state_.plateau,
                                         float(monitored_value(r, config_.lr_schedule.monitor)));
  // The state is now that of the next epoch, about to start.
  state_.epoch = r.epoch;
  state_.batch = 0;
  state_.loss_sum = state_.correct = state_.epoch_seconds = 0;
  write_epoch_files(state_.best_epoch != best_before);
  if (state_.stopping.stop && options_.progress)
    fmt::print("Early stopping: no improvement of {} for {} epochs (best epoch {})\n", config_.early_stopping.monitor,
               config_.early_stopping.patience, state_.best_epoch);
}

// The best epoch: early stopping's own judgement (with its min_delta) when it runs, as Keras'
// restore_best_weights does; otherwise the lowest validation (or training) loss.
void TrainingRun::update_best(const EpochRecord& r) {
  bool improved = false;
  if (config_.early_stopping.enabled) {
    const float metric = float(monitored_value(r, config_.early_stopping.monitor));
    state_.stopping = early_stopping_after_epoch(config_.early_stopping, state_.stopping, metric, r.epoch - 1);
    improved = state_.stopping.improved;
  } else {
    const double value = monitored_value(r, best_monitor_);
    improved = value < state_.best_value;
    if (improved) state_.best_value = value;
  }
  if (!improved) return;
  state_.best_epoch = r.epoch;
  if (restore_best_) best_ = evaluated_weights();
}

// The weights validation, the test and saved models use: the average where there is one.
Model::Snapshot TrainingRun::evaluated_weights() const { return average_ ? average_->snapshot() : model_.snapshot(); }

// Scores the evaluated weights on `set`, leaving the live (training) weights in the model.
EvalResult TrainingRun::evaluate_averaged(const DeviceImages& set) {
  if (!average_) return evaluate_sharded(set);
  const Model::Snapshot live = model_.snapshot();
  model_.restore(average_->snapshot());
  EvalResult r = evaluate_sharded(set);
  model_.restore(live);
  return r;
}

// This rank's contiguous share of `count` rows (of a batch or a set): all of them in one process.
RowRange TrainingRun::share_of(int count) const {
  const int rank = communicator_.rank(), ranks = communicator_.size();
  const int lo = int(int64_t(count) * rank / ranks), hi = int(int64_t(count) * (rank + 1) / ranks);
  return {lo, hi - lo};
}

// Each rank scores its share of the set and the results are summed over the ranks (the metric
// sums, the confusion counts and the probabilities, zero outside each share), so that every rank
// holds the whole set's result: the weights are the same everywhere, the work is not repeated.
EvalResult TrainingRun::evaluate_sharded(const DeviceImages& set, KeepProbabilities keep) {
  if (communicator_.size() == 1) return evaluate(model_, backend_, set, scaling_, keep);
  const RowRange share = share_of(set.count);
  const EvalResult part = evaluate(model_, backend_, set, scaling_, keep, kEvalBatch, share);
  std::vector<double> sums{part.loss * part.count, part.accuracy * part.count};
  sums.insert(sums.end(), part.confusion.begin(), part.confusion.end());
  communicator_.sum(sums.data(), sums.size());
  EvalResult r;
  r.count = set.count;
  r.classes = part.classes;
  r.loss = set.count ? sums[0] / set.count : 0.0;
  r.accuracy = set.count ? std::round(sums[1]) / set.count : 0.0;
  for (size_t i = 2; i < sums.size(); ++i) r.confusion.push_back(std::llround(sums[i]));
  if (keep == KeepProbabilities::kYes) {
    r.probabilities.assign(size_t(set.count) * r.classes, 0.0f);
    std::copy(part.probabilities.begin(), part.probabilities.end(),
              r.probabilities.begin() + ptrdiff_t(share.first) * r.classes);
    communicator_.sum(r.probabilities.data(), r.probabilities.size());
  }
  return r;
}

// After an epoch: the latest checkpoint when due, best.hdr when the epoch is the best so far,
// the history always. A failed write names the file and the step; what was written before stays.
void TrainingRun::write_epoch_files(bool improved) {
  if (!writes_) return;
  writing(fmt::format("after epoch {}", state_.epoch), [&] {
    if (state_.epoch % ts_.checkpoint_every == 0) save_resumable();
    if (improved) save(options_.out_dir / "best.hdr", metadata(), nullptr, model_.tensors(evaluated_weights(), ""));
    write_history(options_.out_dir, state_.history);
  });
}

TrainResult TrainingRun::stop_on_request() {
  if (bar_drawn_) fmt::print("\n");
  if (in_epoch_) {  // else the state holds the epoch's sums already (zero at an epoch's start)
    const std::vector<double> m = epoch_sums();
    check_finite(m[0], state_.batch);  // a diverged state is not worth resuming
    state_.loss_sum = m[0];
    state_.correct = m[1];
    state_.epoch_seconds = seconds_since(epoch_start_);
  }
  result_.interrupted = true;
  if (state_.step > 0) {  // before the first step there is nothing to keep
    if (writes_) writing("stopped on request", [&] { save_resumable(); });
    result_.checkpoint_saved = true;
  }
  result_.history = state_.history;
  result_.best_epoch = state_.best_epoch;
  result_.epochs_done = state_.epoch;
  result_.batches_done = state_.batch;
  result_.steps = state_.step;
  result_.seconds = seconds_before_ + seconds_since(session_start_);
  return result_;
}

TrainResult TrainingRun::finish() {
  result_.history = state_.history;
  result_.best_epoch = state_.best_epoch;
  result_.stopped_early = state_.stopping.stop;
  result_.epochs_done = state_.epoch;
  result_.steps = state_.step;
  if (restore_best_ && state_.best_epoch > 0) {
    model_.restore(best_);
    if (options_.progress)
      fmt::print("Restored the {}weights of epoch {} (best {})\n", average_ ? "averaged " : "", state_.best_epoch,
                 best_monitor_);
  } else if (average_) {
    model_.restore(average_->snapshot());
  }
  result_.test = evaluate_sharded(test_set_, KeepProbabilities::kYes);
  result_.seconds = seconds_before_ + seconds_since(session_start_);
  if (writes_)
    writing("after the last epoch", [&] {
      save(result_.checkpoint, metadata(), &result_.test, model_.tensors());
      write_history(options_.out_dir, state_.history);
    });
  return result_;
}

// Throws TrainingDiverged when the epoch's loss sum so far is NaN or infinite.
void TrainingRun::check_finite(double loss_sum, int batches_done) const {
  if (std::isfinite(loss_sum)) return;
  throw TrainingDiverged(fmt::format("training diverged: the loss became {} by epoch {}, step {} (batch {} of {}); {}",
                                     not_finite(loss_sum), state_.epoch + 1, state_.step, batches_done,
                                     steps_per_epoch_, kept_checkpoint()));
}

// Throws TrainingDiverged when a tensor about to be saved holds a NaN or an infinity: the last
// good checkpoint is kept rather than replaced by one that cannot be continued.
void TrainingRun::check_finite(const std::vector<NamedTensor>& tensors) const {
  for (const NamedTensor& t : tensors) {
    const auto bad = std::find_if(t.data.begin(), t.data.end(), [](float x) { return !std::isfinite(x); });
    if (bad == t.data.end()) continue;
    throw TrainingDiverged(fmt::format("training diverged: tensor '{}' holds {} values {} (step {}); {}", t.name,
                                       not_finite(*bad), describe_position(state_.epoch, state_.batch), state_.step,
                                       kept_checkpoint()));
  }
}

std::string TrainingRun::kept_checkpoint() const {
  if (!last_saved_.empty()) return fmt::format("stopped; the last good checkpoint is kept: {}", last_saved_);
  if (state_.best_epoch > 0)  // checkpoint_every > 1: best.hdr came first
    return fmt::format("stopped before a resumable checkpoint was written (train.checkpoint_every = {}); the weights "
                       "of the best epoch ({}) are kept: {}",
                       ts_.checkpoint_every, state_.best_epoch, (options_.out_dir / "best.hdr").string());
  return "stopped before any checkpoint was written";
}

RunMetadata TrainingRun::metadata() const {
  RunMetadata m;
  m.hdr_version = HDR_VERSION;
  m.git_revision = HDR_GIT_REVISION;
  m.backend = backend_.name();
  m.config_source = config_.source;
  m.overrides = config_.overrides;
  m.resolved_config = resolved_config_;
  m.epochs_run = int(state_.history.size());
  m.best_epoch = state_.best_epoch;
  m.history = state_.history;
  return m;
}

// model.hdr as a run under way: weights, optimizer moments, best weights where they are to be
// restored, and the TrainingState.
void TrainingRun::save_resumable() {
  RunMetadata meta = metadata();
  meta.resume = state_;
  meta.resume->ranks = communicator_.size();
  meta.resume->run_seconds = seconds_before_ + seconds_since(session_start_);
  std::vector<NamedTensor> tensors = model_.tensors();
  std::vector<NamedTensor> moments = model_.optimizer_tensors();
  tensors.insert(tensors.end(), std::make_move_iterator(moments.begin()), std::make_move_iterator(moments.end()));
  if (restore_best_ && state_.best_epoch > 0) {
    std::vector<NamedTensor> best = model_.tensors(best_, "best/");
    tensors.insert(tensors.end(), std::make_move_iterator(best.begin()), std::make_move_iterator(best.end()));
  }
  if (average_) {
    std::vector<NamedTensor> average = model_.tensors(average_->snapshot(), "ema/");
    tensors.insert(tensors.end(), std::make_move_iterator(average.begin()), std::make_move_iterator(average.end()));
  }
  check_finite(tensors);
  save(result_.checkpoint, meta, nullptr, std::move(tensors));
  last_saved_ = checkpoint_label(result_.checkpoint, state_);
}

void TrainingRun::save(const fs::path& path, const RunMetadata& meta, const EvalResult* test,
                       std::vector<NamedTensor> tensors) {
  save_checkpoint(path, Checkpoint{config_.text, run_metadata_json(meta, test), std::move(tensors)});
}

void TrainingRun::print_epoch_line(const EpochRecord& r) {
  if (!options_.progress) return;
  std::string line = progress_line(train_set_.count, train_set_.count, r.seconds, r.loss, r.accuracy);
  if (has_validation_) line += fmt::format(" - val_loss: {:.4f} - val_accuracy: {:.4f}", r.val_loss, r.val_accuracy);
  fmt::print("{}{} - lr: {:.2e}\n", bar_drawn_ ? "\r" : "", line, r.lr);
  std::fflush(stdout);
  bar_drawn_ = false;
}

}  // namespace

TrainResult train(const Config& config, Backend& backend, const Datasets& data, const TrainOptions& options) {
  TrainingRun run(config, backend, data, options);
  return run.run();
}

}  // namespace hdr

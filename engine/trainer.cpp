#include "engine/trainer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>

#include "engine/atomic_file.h"
#include "engine/build_info.h"
#include "engine/checkpoint.h"
#include "engine/early_stopping.h"
#include "engine/errors.h"
#include "engine/lr_schedule.h"
#include "engine/timed.h"

namespace hdr {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void write_text(const std::filesystem::path& path, const std::string& text) {
  write_file_atomically(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void write_history(const std::filesystem::path& dir, const std::vector<EpochRecord>& history) {
  std::string csv = "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,images_per_second\n";
  nlohmann::json json = nlohmann::json::array();
  for (const EpochRecord& r : history) {
    csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6g},{:.3f},{:.1f}\n", r.epoch, r.loss, r.accuracy, r.val_loss,
                       r.val_accuracy, r.lr, r.seconds, r.images_per_second);
    json.push_back({{"epoch", r.epoch}, {"loss", r.loss}, {"accuracy", r.accuracy}, {"val_loss", r.val_loss},
                    {"val_accuracy", r.val_accuracy}, {"lr", r.lr}, {"seconds", r.seconds},
                    {"images_per_second", r.images_per_second}});
  }
  write_text(dir / "history.csv", csv);
  write_text(dir / "history.json", json.dump(2) + "\n");
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

nlohmann::json eval_json(const EvalResult& e) {
  return {{"count", e.count}, {"loss", e.loss}, {"accuracy", e.accuracy}, {"confusion", e.confusion}};
}

}  // namespace

AugmentParams scaling_only(const DataSpec& data) {
  AugmentParams p;
  p.mean = data.mean;
  p.inv_std = 1.0f / data.std;
  return p;
}

double monitored_value(const EpochRecord& r, const std::string& monitor) {
  if (monitor == "loss") return r.loss;
  if (monitor == "accuracy") return r.accuracy;
  if (monitor == "val_loss") return r.val_loss;
  if (monitor == "val_accuracy") return r.val_accuracy;
  throw InputError(fmt::format("unknown monitor '{}'", monitor));
}

TrainStep::TrainStep(Model& model, Backend& backend, const Config& config)
    : model_(model),
      backend_(backend),
      spec_(config.train),
      augment_(scaling_only(config.data)),
      x_(backend, size_t(config.train.batch_size) * model.input_shape().size()),
      dlogits_(backend, size_t(config.train.batch_size) * model.classes()),
      labels_(backend, size_t(config.train.batch_size)) {
  if (config.augment.enabled) {
    const AugmentParams& a = config.augment.params;
    augment_.rotation_deg = a.rotation_deg;
    augment_.shift_x = a.shift_x;
    augment_.shift_y = a.shift_y;
    augment_.zoom = a.zoom;
  }
}

void TrainStep::attach_profile(StepProfile* profile) {
  profile_ = profile;
  model_.attach_profile(profile ? &profile->layers : nullptr);
}

void TrainStep::run(const DeviceImages& data, const int32_t* rows, int n, int epoch, int first_sample, float lr,
                    double* metrics) {
  timed(backend_, profile_ ? &profile_->augment_seconds : nullptr, [&] {
    backend_.augment(augment_, RandomKey{spec_.seed, uint32_t(epoch), kStreamAugment}, data.images.data(), data.h,
                     data.w, rows, n, x_.data());
    backend_.gather_labels(data.labels.data(), rows, n, labels_.data());
  });
  const Pass pass{backend_, n, true, RandomKey{spec_.seed, uint32_t(epoch), 0}, first_sample};
  const float* logits = model_.forward(pass, x_.data());
  timed(backend_, profile_ ? &profile_->loss_seconds : nullptr, [&] {
    backend_.softmax_xent(n, model_.classes(), logits, labels_.data(), dlogits_.data(), metrics);
  });
  model_.backward(pass, x_.data(), dlogits_.data());
  ++step_;
  timed(backend_, profile_ ? &profile_->update_seconds : nullptr, [&] {
    backend_.optimizer_update(spec_.optimizer, lr, step_, model_.segments().data(), int(model_.segments().size()),
                              model_.values(), model_.grads(), model_.moment1(), model_.moment2());
  });
}

EvalResult evaluate(Model& model, Backend& backend, const DeviceImages& data, const AugmentParams& scaling,
                    KeepProbabilities keep, int batch) {
  batch = std::min(batch, model.max_batch());
  const int classes = model.classes();
  const Shape in = model.input_shape();
  DeviceArray<float> x(backend, size_t(batch) * in.size());
  DeviceArray<uint8_t> labels(backend, size_t(batch));
  DeviceArray<int64_t> confusion(backend, size_t(classes) * classes);
  DeviceArray<double> metrics(backend, 2);
  confusion.zero();
  metrics.zero();
  EvalResult r;
  std::optional<DeviceArray<float>> probabilities;
  if (keep == KeepProbabilities::kYes) {
    probabilities.emplace(backend, size_t(batch) * classes);
    r.probabilities.resize(size_t(data.count) * classes);
  }
  for (int first = 0; first < data.count; first += batch) {
    const int n = std::min(batch, data.count - first);
    backend.augment(scaling, RandomKey{}, data.images.data(), data.h, data.w, data.rows.data() + first, n, x.data());
    backend.gather_labels(data.labels.data(), data.rows.data() + first, n, labels.data());
    const Pass pass{backend, n, false, RandomKey{}, first};
    const float* logits = model.forward(pass, x.data());
    backend.evaluate_batch(n, classes, logits, labels.data(), confusion.data(), metrics.data());
    if (probabilities) {
      backend.softmax(n, classes, logits, probabilities->data());
      probabilities->download(r.probabilities.data() + size_t(first) * classes, size_t(n) * classes);
    }
  }
  const std::vector<double> m = metrics.to_host();
  r.count = data.count;
  r.classes = classes;
  r.loss = data.count ? m[0] / data.count : 0.0;
  r.accuracy = data.count ? m[1] / data.count : 0.0;
  r.confusion = confusion.to_host();
  return r;
}

TrainResult train(const Config& config, Backend& backend, const Datasets& data, const TrainOptions& options) {
  const TrainSpec& ts = config.train;
  const bool has_validation = data.validation.count() > 0;
  const std::string best_monitor = config.early_stopping.enabled ? config.early_stopping.monitor
                                   : has_validation              ? "val_loss"
                                                                 : "loss";
  Model model(config.model, backend, std::max(ts.batch_size, kEvalBatch));
  model.initialize(ts.seed);
  const DeviceImages train_set(backend, data.train), val_set(backend, data.validation), test_set(backend, data.test);
  TrainStep train_step(model, backend, config);
  DeviceArray<int32_t> order(backend, size_t(train_set.count));
  DeviceArray<double> metrics(backend, 2);
  const AugmentParams scaling = scaling_only(config.data);

  std::filesystem::create_directories(options.out_dir);
  TrainResult result;
  result.checkpoint = options.out_dir / "model.hdr";
  const int steps_per_epoch = (train_set.count + ts.batch_size - 1) / ts.batch_size;
  const int64_t total_steps = int64_t(steps_per_epoch) * ts.epochs;
  PlateauState plateau = plateau_start(config.lr_schedule, ts.learning_rate);
  EarlyStoppingState stopping = early_stopping_start(config.early_stopping);
  double best_value = INFINITY;  // of best_monitor when early stopping is off (a loss)
  const bool restore_best = config.early_stopping.enabled && config.early_stopping.restore_best_weights;
  Model::Snapshot best;
  const bool live_bar = options.progress && isatty(fileno(stdout));
  int64_t step = 0;
  const auto run_start = Clock::now();

  auto save = [&](const EvalResult* test) {
    nlohmann::json meta = {{"hdr_version", HDR_VERSION},
                           {"git_revision", HDR_GIT_REVISION},
                           {"config_source", config.source},
                           {"overrides", config.overrides},
                           {"backend", backend.name()},
                           {"epochs_run", result.history.size()},
                           {"best_epoch", result.best_epoch}};
    if (test) meta["test"] = eval_json(*test);
    save_checkpoint(result.checkpoint, Checkpoint{config.text, meta.dump(), model.tensors()});
  };

  for (int epoch = 0; epoch < ts.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    order.upload(shuffled_indices(train_set.count, RandomKey{ts.seed, uint32_t(epoch), kStreamShuffle}));
    metrics.zero();
    if (options.progress) fmt::print("Epoch {}/{}\n", epoch + 1, ts.epochs);
    auto last_bar = Clock::now();
    double lr = ts.learning_rate;
    for (int b = 0; b < steps_per_epoch; ++b) {
      if (options.stop_requested && options.stop_requested->load()) {
        result.interrupted = true;
        break;
      }
      const int first = b * ts.batch_size;
      const int n = std::min(ts.batch_size, train_set.count - first);
      lr = scheduled_lr(config.lr_schedule, ts.learning_rate, plateau.lr, epoch, step, total_steps);
      ++step;
      train_step.run(train_set, order.data() + first, n, epoch, first, float(lr), metrics.data());
      if (live_bar && seconds_since(last_bar) > 0.25) {
        last_bar = Clock::now();
        const std::vector<double> m = metrics.to_host();
        const int done = first + n;
        fmt::print("\r{}", progress_line(done, train_set.count, seconds_since(epoch_start), m[0] / done, m[1] / done));
        std::fflush(stdout);
      }
    }
    if (result.interrupted) break;
    backend.synchronize();
    const double train_seconds = seconds_since(epoch_start);
    const std::vector<double> m = metrics.to_host();
    EpochRecord r;
    r.epoch = epoch + 1;
    r.loss = m[0] / train_set.count;
    r.accuracy = m[1] / train_set.count;
    r.lr = lr;
    r.images_per_second = train_set.count / train_seconds;
    if (has_validation) {
      const EvalResult v = evaluate(model, backend, val_set, scaling);
      r.val_loss = v.loss;
      r.val_accuracy = v.accuracy;
    }
    r.seconds = seconds_since(epoch_start);
    result.history.push_back(r);
    if (options.progress) {
      std::string line = progress_line(train_set.count, train_set.count, r.seconds, r.loss, r.accuracy);
      if (has_validation) line += fmt::format(" - val_loss: {:.4f} - val_accuracy: {:.4f}", r.val_loss, r.val_accuracy);
      fmt::print("{}{} - lr: {:.2e}\n", live_bar ? "\r" : "", line, r.lr);
      std::fflush(stdout);
    }
    if (!std::isfinite(r.loss) || (has_validation && !std::isfinite(r.val_loss)))
      throw std::runtime_error(fmt::format("epoch {}: the loss is {} (diverged); {}", r.epoch, r.loss,
                                           r.epoch > 1 ? "the last good checkpoint is " + result.checkpoint.string()
                                                       : std::string("no checkpoint was written")));

    // The best epoch: early stopping's own judgement (with its min_delta) when it runs, as
    // Keras' restore_best_weights does; otherwise the lowest validation (or training) loss.
    bool improved = false;
    if (config.early_stopping.enabled) {
      stopping = early_stopping_after_epoch(config.early_stopping, stopping,
                                            float(monitored_value(r, config.early_stopping.monitor)), epoch);
      improved = stopping.improved;
    } else {
      const double value = monitored_value(r, best_monitor);
      improved = value < best_value;
      if (improved) best_value = value;
    }
    if (improved) {
      result.best_epoch = r.epoch;
      if (restore_best) best = model.snapshot();
    }
    save(nullptr);
    write_history(options.out_dir, result.history);
    if (config.lr_schedule.kind == ScheduleKind::kPlateau)
      plateau = plateau_after_epoch(config.lr_schedule, plateau,
                                    float(monitored_value(r, config.lr_schedule.monitor)));
    if (stopping.stop) {
      result.stopped_early = true;
      if (options.progress)
        fmt::print("Early stopping: no improvement of {} for {} epochs (best epoch {})\n",
                   config.early_stopping.monitor, config.early_stopping.patience, result.best_epoch);
      break;
    }
  }

  if (restore_best && result.best_epoch > 0) {
    model.restore(best);
    if (options.progress) fmt::print("Restored the weights of epoch {} (best {})\n", result.best_epoch, best_monitor);
  }
  result.test = evaluate(model, backend, test_set, scaling, KeepProbabilities::kYes);
  result.seconds = seconds_since(run_start);
  save(&result.test);
  write_history(options.out_dir, result.history);
  return result;
}

}  // namespace hdr

#include "engine/train/callbacks/run_files.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>

#include "engine/backends/build_info.h"
#include "engine/backends/version.h"
#include "engine/core/atomic_file.h"
#include "engine/core/errors.h"
#include "engine/train/trainer.h"

namespace hdr {
namespace fs = std::filesystem;
namespace {

void write_text(const fs::path& path, const std::string& text) {
  write_file_atomically(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
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

// Throws TrainingDiverged when a tensor about to be saved holds a NaN or an infinity: the last
// good checkpoint is kept rather than replaced by one that cannot be continued.
void check_finite(const std::vector<NamedTensor>& tensors, const TrainingState& s) {
  for (const NamedTensor& t : tensors) {
    const auto bad = std::find_if(t.data.begin(), t.data.end(), [](float x) { return !std::isfinite(x); });
    if (bad == t.data.end()) continue;
    throw TrainingDiverged(fmt::format("training diverged: tensor '{}' holds {} values {} (step {})", t.name,
                                       not_finite(*bad), describe_position(s.epoch, s.batch), s.step));
  }
}

void append(std::vector<NamedTensor>& to, std::vector<NamedTensor> more) {
  to.insert(to.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

}  // namespace

CheckpointWriter::CheckpointWriter(const Config& config, std::string resolved_config, std::string backend_name,
                                   Model& model, const WeightAveraging& weights, const BestEpochTracker& best,
                                   fs::path out_dir, bool writes)
    : config_(config),
      resolved_config_(std::move(resolved_config)),
      backend_name_(std::move(backend_name)),
      model_(model),
      weights_(weights),
      best_(best),
      out_dir_(std::move(out_dir)),
      file_(out_dir_ / "model.hdr"),
      writes_(writes) {
  run_metadata_json(metadata(TrainingState{}), nullptr);  // refuses what the metadata cannot hold
  prepare_output_dir(out_dir_);
}

void CheckpointWriter::resumed_from(const fs::path& file, const TrainingState& state) {
  last_saved_ = checkpoint_label(file, state);
  best_kept_ = state.best_epoch;
}

std::string CheckpointWriter::kept_checkpoint() const {
  if (!last_saved_.empty()) return fmt::format("stopped; the last good checkpoint is kept: {}", last_saved_);
  if (best_kept_ > 0)  // checkpoint_every > 1: best.hdr came first
    return fmt::format("stopped before a resumable checkpoint was written (train.checkpoint_every = {}); the weights "
                       "of the best epoch ({}) are kept: {}",
                       config_.train.checkpoint_every, best_kept_, (out_dir_ / "best.hdr").string());
  return "stopped before any checkpoint was written";
}

RunMetadata CheckpointWriter::metadata(const TrainingState& state) const {
  RunMetadata m;
  m.hdr_version = HDR_VERSION;
  m.git_revision = git_revision();
  m.backend = backend_name_;
  m.config_source = config_.source;
  m.overrides = config_.overrides;
  m.resolved_config = resolved_config_;
  m.epochs_run = int(state.history.size());
  m.best_epoch = state.best_epoch;
  m.history = state.history;
  return m;
}

void CheckpointWriter::on_epoch_end(TrainingLoop& loop, const EpochRecord& r) {
  if (!std::isfinite(r.val_loss))  // 0 without a validation set
    throw TrainingDiverged(
        fmt::format("training diverged: the validation loss is {} after epoch {}", not_finite(r.val_loss), r.epoch));
  const TrainingState& s = loop.state();
  if (writes_)
    writing(fmt::format("after epoch {}", s.epoch), [&] {
      if (s.epoch % config_.train.checkpoint_every == 0) save_resumable(loop);
      if (best_.improved())
        save(out_dir_ / "best.hdr", metadata(s), nullptr, model_.tensors(weights_.evaluated_weights(), ""));
    });
  best_kept_ = s.best_epoch;
}

void CheckpointWriter::on_run_end(TrainingLoop& loop) {
  if (!loop.stopped_on_request() || loop.state().step == 0) return;  // before the first step: nothing to keep
  if (writes_) writing("stopped on request", [&] { save_resumable(loop); });
  saved_on_stop_ = true;
}

// model.hdr as a run under way: weights, optimizer moments, best weights where they are to be
// restored, the weight average where there is one, and the TrainingState.
void CheckpointWriter::save_resumable(const TrainingLoop& loop) {
  const TrainingState& s = loop.state();
  RunMetadata meta = metadata(s);
  meta.resume = s;
  meta.resume->ranks = loop.communicator().size();
  meta.resume->run_seconds = loop.run_seconds();
  std::vector<NamedTensor> tensors = model_.tensors();
  append(tensors, model_.optimizer_tensors());
  append(tensors, best_.tensors(s));
  append(tensors, weights_.tensors());
  check_finite(tensors, s);
  save(file_, meta, nullptr, std::move(tensors));
  last_saved_ = checkpoint_label(file_, s);
}

void CheckpointWriter::save_final(const TrainingLoop& loop, const EvalResult& test) {
  if (writes_) writing("after the last epoch", [&] { save(file_, metadata(loop.state()), &test, model_.tensors()); });
}

void CheckpointWriter::save(const fs::path& path, const RunMetadata& meta, const EvalResult* test,
                            std::vector<NamedTensor> tensors) {
  save_checkpoint(path, Checkpoint{config_.text, run_metadata_json(meta, test), std::move(tensors)});
}

// history.json holds the records as a checkpoint's metadata does (history_json).
void HistoryWriter::write(const std::vector<EpochRecord>& history, const std::string& when) const {
  if (!writes_) return;
  writing(when, [&] {
    std::string csv = "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,images_per_second\n";
    for (const EpochRecord& r : history)
      csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6g},{:.3f},{:.1f}\n", r.epoch, r.loss, r.accuracy,
                         r.val_loss, r.val_accuracy, r.lr, r.seconds, r.images_per_second);
    write_text(out_dir_ / "history.csv", csv);
    write_text(out_dir_ / "history.json", history_json(history).dump(2) + "\n");
  });
}

void HistoryWriter::on_epoch_end(TrainingLoop& loop, const EpochRecord& r) {
  write(loop.state().history, fmt::format("after epoch {}", r.epoch));
}

}  // namespace hdr

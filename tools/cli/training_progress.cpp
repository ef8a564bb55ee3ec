#include "tools/cli/training_progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace hdr::cli {
namespace {

// The Keras-like progress bar: "  512/48000 [>.....] 2.1s 11420 img/s - loss: 0.1234 - accuracy: 0.9612"
std::string progress_line(int done, int total, double seconds, double loss, double acc) {
  constexpr int kWidth = 30;
  const int filled = total ? int(int64_t(kWidth) * done / total) : kWidth;
  std::string bar(size_t(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(size_t(kWidth - filled - 1), '.');
  return fmt::format("{:>6}/{} [{}] {:.1f}s {:.0f} img/s - loss: {:.4f} - accuracy: {:.4f}", done, total, bar, seconds,
                     seconds > 0 ? done / seconds : 0.0, loss, acc);
}

}  // namespace

TrainingProgress::TrainingProgress(bool has_validation)
    : has_validation_(has_validation), live_bar_(isatty(fileno(stdout))) {}

void TrainingProgress::on_note(TrainingLoop&, const std::string& line) { fmt::print("{}\n", line); }

void TrainingProgress::on_epoch_begin(TrainingLoop& loop) {
  const TrainingState& s = loop.state();
  const int steps = loop.spec().steps_per_epoch();
  fmt::print("Epoch {}/{}{}\n", s.epoch + 1, loop.spec().epochs,
             s.batch > 0 ? fmt::format(" (resumed after batch {} of {})", s.batch, steps) : "");
  std::fflush(stdout);  // a watcher of the output sees the epoch start when it starts
  last_bar_ = Clock::now();
}

void TrainingProgress::on_step_end(TrainingLoop& loop) {
  if (!live_bar_ || std::chrono::duration<double>(Clock::now() - last_bar_).count() <= 0.25) return;
  last_bar_ = Clock::now();
  // This rank's sums, over its share of the images done (no collective for a progress bar).
  const EpochSums m = loop.local_sums();
  const int done = loop.images_done();
  const double seen = double(done) / loop.communicator().size();
  fmt::print("\r{}",
             progress_line(done, loop.spec().train_count, loop.epoch_seconds(), m.loss / seen, m.correct / seen));
  std::fflush(stdout);
  bar_drawn_ = true;
}

void TrainingProgress::on_epoch_end(TrainingLoop& loop, const EpochRecord& r) {
  const int count = loop.spec().train_count;
  std::string line = progress_line(count, count, r.seconds, r.loss, r.accuracy);
  if (has_validation_) line += fmt::format(" - val_loss: {:.4f} - val_accuracy: {:.4f}", r.val_loss, r.val_accuracy);
  fmt::print("{}{} - lr: {:.2e}\n", bar_drawn_ ? "\r" : "", line, r.lr);
  std::fflush(stdout);
  bar_drawn_ = false;
}

void TrainingProgress::on_run_end(TrainingLoop& loop) {
  if (loop.stopped_on_request() && bar_drawn_) fmt::print("\n");
  bar_drawn_ = false;
}

}  // namespace hdr::cli

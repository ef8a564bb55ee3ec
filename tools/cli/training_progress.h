// The console of `hdr train`, as a training callback (engine/train/training_loop.h): Keras's
// progress output. Per epoch "Epoch 2/12", a live bar while it runs (on a terminal only, redrawn
// at most 4 times a second) and its line at the end:
//   60000/60000 [==============================] 41.2s 1456 img/s - loss: 0.1234 - accuracy: 0.9612
//   - val_loss: 0.0456 - val_accuracy: 0.9861 - lr: 1.00e-03
// and every note of the run ("Early stopping: ...", "Restored the weights of epoch 7 ...").
#pragma once

#include <chrono>
#include <string>

#include "engine/train/training_loop.h"

namespace hdr::cli {

class TrainingProgress : public TrainingCallback {
 public:
  explicit TrainingProgress(bool has_validation);
  void on_note(TrainingLoop& loop, const std::string& line) override;
  void on_epoch_begin(TrainingLoop& loop) override;
  void on_step_end(TrainingLoop& loop) override;
  void on_epoch_end(TrainingLoop& loop, const EpochRecord& record) override;
  void on_run_end(TrainingLoop& loop) override;

 private:
  using Clock = std::chrono::steady_clock;
  const bool has_validation_, live_bar_;
  Clock::time_point last_bar_;
  bool bar_drawn_ = false;  // the line under the cursor is the bar
};

}  // namespace hdr::cli

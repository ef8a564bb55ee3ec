// Early stopping on scripted metric sequences, with the Keras rules worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/io/config.h"
#include "engine/train/early_stopping.h"

namespace hdr {
namespace {

EarlyStoppingSpec spec_for(const std::string& monitor, int patience, float min_delta = 0.0f) {
  EarlyStoppingSpec spec;
  spec.enabled = true;
  spec.monitor = monitor;
  spec.patience = patience;
  spec.min_delta = min_delta;
  return spec;
}

struct ScriptedRun {
  int stopped_after = -1;  // epoch whose update set stop; -1 when the sequence ran out first
  std::vector<bool> improved;
  EarlyStoppingState last{};
};

// Feeds one metric per epoch (0-based) until the state says stop.
ScriptedRun run_script(const EarlyStoppingSpec& spec, const std::vector<float>& metrics) {
  ScriptedRun r;
  EarlyStoppingState state = early_stopping_start(spec);
  for (int epoch = 0; epoch < int(metrics.size()); ++epoch) {
    state = early_stopping_after_epoch(spec, state, metrics[size_t(epoch)], epoch);
    r.improved.push_back(state.improved);
    if (state.stop) {
      r.stopped_after = epoch;
      break;
    }
  }
  r.last = state;
  return r;
}

// Best at epoch 2, then five epochs without a lower loss (a tie included): stop after epoch 7.
TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovement) {
  const ScriptedRun r = run_script(spec_for("val_loss", 5), {1.0f, 0.8f, 0.7f, 0.75f, 0.71f, 0.72f, 0.7f, 0.9f, 0.1f});
  EXPECT_EQ(r.stopped_after, 7);
  EXPECT_EQ(r.last.best_epoch, 2);
  EXPECT_EQ(r.last.best, 0.7f);
  EXPECT_EQ(r.last.wait, 5);
  EXPECT_EQ(r.improved, (std::vector<bool>{true, true, true, false, false, false, false, false}));
}

TEST(EarlyStopping, ANewBestRestartsThePatience) {
  // Four stalls, a new best at epoch 5, then five more stalls: stop after epoch 10.
  const ScriptedRun r = run_script(spec_for("val_loss", 5),
                                   {1.0f, 1.1f, 1.2f, 1.3f, 1.4f, 0.9f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f});
  EXPECT_EQ(r.stopped_after, 10);
  EXPECT_EQ(r.last.best_epoch, 5);
  EXPECT_TRUE(r.improved[5]);
}

TEST(EarlyStopping, GainsNotAboveMinDeltaDoNotCount) {
  const std::vector<float> losses{1.0f, 0.97f, 0.96f, 0.5f};
  const ScriptedRun strict = run_script(spec_for("val_loss", 2, 0.05f), losses);  // needs a loss below 0.95
  EXPECT_EQ(strict.stopped_after, 2);
  EXPECT_EQ(strict.last.best_epoch, 0);
  EXPECT_EQ(strict.last.best, 1.0f);

  const ScriptedRun plain = run_script(spec_for("val_loss", 2, 0.0f), losses);
  EXPECT_EQ(plain.stopped_after, -1);
  EXPECT_EQ(plain.last.best_epoch, 3);
}

TEST(EarlyStopping, AccuracyIsMaximised) {
  const EarlyStoppingSpec spec = spec_for("val_accuracy", 2);
  EXPECT_EQ(early_stopping_start(spec).best, -INFINITY);
  const ScriptedRun r = run_script(spec, {0.90f, 0.95f, 0.94f, 0.95f, 0.99f});
  EXPECT_EQ(r.stopped_after, 3);  // 0.94 and a tie at 0.95 are the two stalls
  EXPECT_EQ(r.last.best_epoch, 1);
  EXPECT_EQ(r.last.best, 0.95f);
  // With min_delta 0.01, 0.955 does not beat 0.95 either.
  EXPECT_EQ(run_script(spec_for("val_accuracy", 2, 0.01f), {0.90f, 0.95f, 0.955f, 0.958f}).stopped_after, 3);
}

TEST(EarlyStopping, PatienceZeroStillRunsTwoEpochs) {
  const ScriptedRun r = run_script(spec_for("val_loss", 0), {1.0f, 0.5f, 0.25f});
  EXPECT_EQ(r.stopped_after, 1);  // Keras never stops after the first epoch
}

TEST(EarlyStopping, NanIsNeverABest) {
  const ScriptedRun r = run_script(spec_for("loss", 2), {1.0f, NAN, NAN, 0.5f});
  EXPECT_EQ(r.stopped_after, 2);
  EXPECT_EQ(r.last.best, 1.0f);
  EXPECT_EQ(r.last.best_epoch, 0);
}

}  // namespace
}  // namespace hdr

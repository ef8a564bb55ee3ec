// Learning-rate schedules on scripted metric sequences; every expected value is worked out by
// hand from the Keras rules or the documented formula, not taken from the implementation.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/io/config.h"
#include "engine/train/lr_schedule.h"

namespace hdr {
namespace {

LrScheduleSpec plateau_spec(float factor, int patience, float min_delta = 1e-4f, int cooldown = 0, float min_lr = 0.0f,
                            const std::string& monitor = "val_loss") {
  LrScheduleSpec spec;
  spec.kind = ScheduleKind::kPlateau;
  spec.monitor = monitor;
  spec.factor = factor;
  spec.patience = patience;
  spec.min_delta = min_delta;
  spec.cooldown = cooldown;
  spec.min_lr = min_lr;
  return spec;
}

// Feeds the metrics one epoch at a time and returns the lr in force after each epoch.
std::vector<float> plateau_lrs(const LrScheduleSpec& spec, float initial_lr, const std::vector<float>& metrics) {
  PlateauState state = plateau_start(spec, initial_lr);
  std::vector<float> lrs;
  for (float m : metrics) {
    state = plateau_after_epoch(spec, state, m);
    lrs.push_back(state.lr);
  }
  return lrs;
}

TEST(LrScheduleMonitor, AccuraciesAreMaximisedLossesMinimised) {
  EXPECT_TRUE(higher_is_better("val_accuracy"));
  EXPECT_TRUE(higher_is_better("accuracy"));
  EXPECT_FALSE(higher_is_better("val_loss"));
  EXPECT_FALSE(higher_is_better("loss"));
}

// Seed 000's recipe: factor 0.5, patience 3. Five improving epochs, then a stall: the third
// epoch without an improvement of more than min_delta (epoch 7) halves the rate, and three
// more stalled epochs (8..10) halve it again. 0.15 at epoch 7 ties the best: not an improvement.
TEST(LrSchedulePlateau, Seed000RecipeHalvesOnTheThirdStalledEpoch) {
  const auto spec = plateau_spec(0.5f, 3);
  const std::vector<float> losses{0.9f, 0.5f, 0.3f, 0.2f, 0.15f, 0.16f, 0.155f, 0.15f, 0.2f, 0.17f, 0.151f};
  const std::vector<float> expected{1e-3f, 1e-3f, 1e-3f, 1e-3f, 1e-3f, 1e-3f, 1e-3f, 5e-4f, 5e-4f, 5e-4f, 2.5e-4f};
  EXPECT_EQ(plateau_lrs(spec, 1e-3f, losses), expected);
}

TEST(LrSchedulePlateau, ImprovementResetsThePatienceCount) {
  const auto spec = plateau_spec(0.5f, 3);
  // Two stalls, an improvement at epoch 3, then two more stalls: never three in a row.
  const std::vector<float> losses{1.0f, 1.1f, 1.2f, 0.9f, 0.95f, 0.92f};
  EXPECT_EQ(plateau_lrs(spec, 1.0f, losses), std::vector<float>(6, 1.0f));
  const PlateauState start = plateau_start(spec, 1.0f);
  EXPECT_EQ(start.best, INFINITY);
  EXPECT_EQ(start.wait, 0);
}

TEST(LrSchedulePlateau, GainsSmallerThanMinDeltaCountAsStalls) {
  // Each loss is below the previous one, but none is below 1.0 - 0.01.
  const std::vector<float> losses{1.0f, 0.995f, 0.991f, 0.9905f};
  EXPECT_EQ(plateau_lrs(plateau_spec(0.5f, 3, 0.01f), 1.0f, losses), (std::vector<float>{1.0f, 1.0f, 1.0f, 0.5f}));
  EXPECT_EQ(plateau_lrs(plateau_spec(0.5f, 3, 0.0f), 1.0f, losses), std::vector<float>(4, 1.0f));
}

// patience 1, cooldown 2: a reduction, then two epochs in which none can happen. Epoch 2's
// improvement inside the cooldown still becomes the best, so 0.6 at epoch 3 is a stall.
TEST(LrSchedulePlateau, CooldownBlocksReductionsButTracksTheBest) {
  const auto spec = plateau_spec(0.5f, 1, 0.0f, 2);
  EXPECT_EQ(plateau_lrs(spec, 1.0f, {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f}),
            (std::vector<float>{1.0f, 0.5f, 0.5f, 0.25f, 0.25f, 0.125f}));

  PlateauState s = plateau_start(spec, 1.0f);
  s = plateau_after_epoch(spec, s, 1.0f);
  s = plateau_after_epoch(spec, s, 1.0f);
  EXPECT_EQ(s.lr, 0.5f);
  EXPECT_EQ(s.cooldown_left, 2);
  s = plateau_after_epoch(spec, s, 0.5f);
  EXPECT_EQ(s.best, 0.5f);
  EXPECT_EQ(s.cooldown_left, 1);
  EXPECT_EQ(s.lr, 0.5f);
  s = plateau_after_epoch(spec, s, 0.6f);  // cooldown ends, 0.6 > best 0.5: reduce
  EXPECT_EQ(s.lr, 0.25f);
  EXPECT_EQ(s.best, 0.5f);
}

TEST(LrSchedulePlateau, NeverGoesBelowMinLr) {
  const auto spec = plateau_spec(0.5f, 1, 0.0f, 0, 0.3f);
  PlateauState s = plateau_start(spec, 1.0f);
  std::vector<float> lrs;
  for (int epoch = 0; epoch < 5; ++epoch) {
    s = plateau_after_epoch(spec, s, 2.0f);
    lrs.push_back(s.lr);
  }
  // 1 -> 0.5 -> max(0.25, 0.3) = 0.3, then lr is no longer above min_lr and stays.
  EXPECT_EQ(lrs, (std::vector<float>{1.0f, 0.5f, 0.3f, 0.3f, 0.3f}));
  EXPECT_EQ(s.wait, 2);  // as in Keras, wait keeps counting once no reduction is possible
}

TEST(LrSchedulePlateau, AccuracyMonitorWaitsForAHigherValue) {
  const auto spec = plateau_spec(0.5f, 2, 1e-4f, 0, 0.0f, "val_accuracy");
  EXPECT_EQ(plateau_start(spec, 1.0f).best, -INFINITY);
  // Rising accuracy is progress; 0.96 and a tie at 0.97 are two stalls.
  EXPECT_EQ(plateau_lrs(spec, 1.0f, {0.90f, 0.95f, 0.97f, 0.96f, 0.97f}),
            (std::vector<float>{1.0f, 1.0f, 1.0f, 1.0f, 0.5f}));
  // The same numbers as losses: 0.95 and 0.97 are worse than 0.90, so the rate halves at epoch 2.
  EXPECT_EQ(plateau_lrs(plateau_spec(0.5f, 2), 1.0f, {0.90f, 0.95f, 0.97f}), (std::vector<float>{1.0f, 1.0f, 0.5f}));
}

TEST(LrSchedulePlateau, NanIsNeverAnImprovement) {
  const auto spec = plateau_spec(0.5f, 2);
  EXPECT_EQ(plateau_lrs(spec, 1.0f, {1.0f, NAN, NAN}), (std::vector<float>{1.0f, 1.0f, 0.5f}));
}

TEST(LrScheduleScheduledLr, ConstantAndPlateauPassTheirRateThrough) {
  LrScheduleSpec spec;
  spec.kind = ScheduleKind::kConstant;
  EXPECT_EQ(scheduled_lr(spec, 1e-3f, 7e-4f, 12, 5000, 10000), 1e-3f);
  spec.kind = ScheduleKind::kPlateau;
  EXPECT_EQ(scheduled_lr(spec, 1e-3f, 7e-4f, 12, 5000, 10000), 7e-4f);
}

TEST(LrScheduleStep, MultipliesByFactorEveryStepEpochs) {
  LrScheduleSpec spec;
  spec.kind = ScheduleKind::kStep;
  spec.factor = 0.5f;
  spec.step_epochs = 10;
  auto at_epoch = [&spec](int epoch) { return scheduled_lr(spec, 0.1f, 0.0f, epoch, 0, 100); };
  EXPECT_FLOAT_EQ(at_epoch(0), 0.1f);
  EXPECT_FLOAT_EQ(at_epoch(9), 0.1f);
  EXPECT_FLOAT_EQ(at_epoch(10), 0.05f);
  EXPECT_FLOAT_EQ(at_epoch(19), 0.05f);
  EXPECT_FLOAT_EQ(at_epoch(25), 0.025f);
  EXPECT_FLOAT_EQ(at_epoch(30), 0.0125f);
}

// The exponential decay of Deotte's recipe, lr * 0.95^epoch, is `step` with step_epochs = 1:
// exactly (one rounding of the double product), so hdr has no separate exponential schedule.
TEST(LrScheduleStep, StepEpochsOneIsExactExponentialDecay) {
  LrScheduleSpec spec;
  spec.kind = ScheduleKind::kStep;
  spec.factor = 0.95f;
  spec.step_epochs = 1;
  for (int epoch = 0; epoch < 45; ++epoch)
    EXPECT_EQ(scheduled_lr(spec, 1e-3f, 0.0f, epoch, 0, 100), float(double(1e-3f) * std::pow(double(0.95f), epoch)))
        << "epoch " << epoch;
}

TEST(LrScheduleCosine, FallsFromBaseToMinLrOverTheRun) {
  LrScheduleSpec spec;
  spec.kind = ScheduleKind::kCosine;
  spec.min_lr = 1e-5f;
  auto at_step = [&spec](int64_t t) { return scheduled_lr(spec, 1e-3f, 0.0f, 0, t, 1000); };
  EXPECT_FLOAT_EQ(at_step(0), 1e-3f);
  // t = T/4: 1e-5 + 0.99e-3 * (1 + cos(pi/4)) / 2 = 1e-5 + 0.99e-3 * 0.8535534 = 8.550178e-4
  EXPECT_FLOAT_EQ(at_step(250), 8.550178e-4f);
  EXPECT_FLOAT_EQ(at_step(500), 5.05e-4f);  // halfway: the mean of base and floor
  EXPECT_FLOAT_EQ(at_step(1000), 1e-5f);
  EXPECT_FLOAT_EQ(at_step(2000), 1e-5f);  // past the end: stays at the floor
  EXPECT_GT(at_step(999), 1e-5f);
  EXPECT_FLOAT_EQ(scheduled_lr(spec, 1e-3f, 0.0f, 0, 10, 0), 1e-3f);  // length unknown: the start
}

TEST(LrScheduleOneCycle, RisesLinearlyToThePeakThenAnneals) {
  LrScheduleSpec spec;
  spec.kind = ScheduleKind::kOneCycle;
  spec.max_lr = 0.0f;  // peak = 10 x base = 1e-2
  spec.warmup_fraction = 0.3f;
  auto at_step = [&spec](int64_t t) { return scheduled_lr(spec, 1e-3f, 0.0f, 0, t, 1000); };
  EXPECT_FLOAT_EQ(at_step(0), 4e-4f);         // 1e-2 / 25
  EXPECT_FLOAT_EQ(at_step(150), 5.2e-3f);     // half of the warm-up: 4e-4 + 9.6e-3 / 2
  EXPECT_FLOAT_EQ(at_step(300), 1e-2f);       // warm-up peak
  EXPECT_FLOAT_EQ(at_step(650), 5.0005e-3f);  // half of the annealing: (1e-2 + 1e-6) / 2
  EXPECT_FLOAT_EQ(at_step(1000), 1e-6f);      // 1e-2 / 1e4
  EXPECT_LT(at_step(299), at_step(300));
  EXPECT_LT(at_step(301), at_step(300));
}

TEST(LrScheduleOneCycle, ExplicitMaxLrAndNoWarmup) {
  LrScheduleSpec spec;
  spec.kind = ScheduleKind::kOneCycle;
  spec.max_lr = 0.02f;
  spec.warmup_fraction = 0.3f;
  EXPECT_FLOAT_EQ(scheduled_lr(spec, 1e-3f, 0.0f, 0, 0, 100), 8e-4f);
  EXPECT_FLOAT_EQ(scheduled_lr(spec, 1e-3f, 0.0f, 0, 30, 100), 0.02f);
  spec.warmup_fraction = 0.0f;  // starts at the peak and anneals at once
  EXPECT_FLOAT_EQ(scheduled_lr(spec, 1e-3f, 0.0f, 0, 0, 100), 0.02f);
  EXPECT_FLOAT_EQ(scheduled_lr(spec, 1e-3f, 0.0f, 0, 50, 100), 0.010001f);
}

}  // namespace
}  // namespace hdr

// The epoch loop (engine/train/training_loop.h) driven by a fake step: scripted losses, no model,
// and callbacks that record what they are told. The orders, positions and stops below are worked
// out by hand from the loop's contract, not read back from it.
#include "engine/train/training_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/io/config.h"
#include "engine/train/callbacks/epoch_monitors.h"
#include "engine/train/callbacks/weight_averaging.h"
#include "engine/train/lr_schedule.h"
#include "engine/train/trainer.h"
#include "tests/small_network.h"

namespace hdr {
namespace {

// Steps that sum scripted losses (1 per batch unless scripted) and count one correct image per
// batch; validation reads a scripted val_loss per epoch. Every call is logged.
class FakeSteps : public TrainingSteps {
 public:
  std::map<std::pair<int, int>, double> loss;  // (epoch, batch), 0-based
  std::vector<double> val_loss;                // per epoch, 0-based; empty: no validation
  std::vector<std::string> calls;
  std::vector<float> lrs;               // of every step run
  int bad_weights_from_step = 1 << 30;  // the scan finds a NaN weight once this many steps ran
  std::function<void(int epoch, int batch)> on_run;

  void begin_epoch(int epoch, const EpochSums& so_far) override {
    sums_ = so_far;
    calls.push_back(fmt::format("begin_epoch {} from {}", epoch, so_far.loss));
  }
  void run(int epoch, int batch, float lr) override {
    const auto it = loss.find({epoch, batch});
    sums_.loss += it == loss.end() ? 1.0 : it->second;
    sums_.correct += 1;
    lrs.push_back(lr);
    calls.push_back(fmt::format("run {}.{}", epoch, batch));
    if (on_run) on_run(epoch, batch);
  }
  EpochSums local_sums() override { return sums_; }
  std::string non_finite_parameters() override {
    calls.push_back("scan");
    return int(lrs.size()) >= bad_weights_from_step ? "1 of 10 weights are" : "";
  }
  EpochSums global_sums() override { return sums_; }
  void validate(EpochRecord& r) override {
    if (val_loss.empty()) return;
    r.val_loss = val_loss.at(size_t(r.epoch - 1));
    r.val_accuracy = 0.5;
  }

 private:
  EpochSums sums_;
};

// Records each event with the position the loop reports at that moment.
class Recorder : public TrainingCallback {
 public:
  std::vector<std::string> events;
  std::vector<EpochRecord> records;

  void on_note(TrainingLoop&, const std::string& line) override { events.push_back("note: " + line); }
  void on_run_begin(TrainingLoop& loop) override { events.push_back("run_begin " + where(loop)); }
  void on_epoch_begin(TrainingLoop& loop) override { events.push_back("epoch_begin " + where(loop)); }
  void on_step_end(TrainingLoop& loop) override {
    events.push_back(fmt::format("step_end {} images {}", where(loop), loop.images_done()));
  }
  void on_epoch_end(TrainingLoop& loop, const EpochRecord& r) override {
    records.push_back(r);
    events.push_back(
        fmt::format("epoch_end {} record {} history {}", where(loop), r.epoch, loop.state().history.size()));
  }
  void on_run_end(TrainingLoop& loop) override {
    events.push_back(fmt::format("run_end {}{}", where(loop), loop.stopped_on_request() ? " stopped" : ""));
  }

 private:
  static std::string where(const TrainingLoop& loop) {
    const TrainingState& s = loop.state();
    return fmt::format("e{} b{} s{}", s.epoch, s.batch, s.step);
  }
};

// 5 images in batches of 2: 3 batches per epoch, the last one partial.
LoopSpec spec(int epochs) {
  LoopSpec s;
  s.epochs = epochs;
  s.train_count = 5;
  s.batch_size = 2;
  s.learning_rate = 0.1f;
  return s;
}

TrainingState fresh() {
  Config config;
  config.train.learning_rate = 0.1f;
  return fresh_training_state(config);
}

TEST(TrainingLoop, SendsTheEventsOfAThreeEpochRunInOrder) {
  FakeSteps steps;
  Recorder recorder;
  Communicator one;
  TrainingLoop loop(spec(3), steps, {&recorder}, fresh(), one, nullptr);
  loop.run();
  std::vector<std::string> want{"run_begin e0 b0 s0"};
  for (int e = 0; e < 3; ++e) {
    want.push_back(fmt::format("epoch_begin e{} b0 s{}", e, 3 * e));
    for (int b = 1; b <= 3; ++b)
      want.push_back(fmt::format("step_end e{} b{} s{} images {}", e, b, 3 * e + b, std::min(5, 2 * b)));
    // At the epoch's end the state is the next epoch's, the record already in the history.
    want.push_back(fmt::format("epoch_end e{} b0 s{} record {} history {}", e + 1, 3 * e + 3, e + 1, e + 1));
  }
  want.push_back("run_end e3 b0 s9");
  EXPECT_EQ(recorder.events, want);
  ASSERT_EQ(recorder.records.size(), 3u);
  EXPECT_DOUBLE_EQ(recorder.records[0].loss, 3.0 / 5);      // three batches of loss 1 over 5 images
  EXPECT_DOUBLE_EQ(recorder.records[0].accuracy, 3.0 / 5);  // one correct per batch
  EXPECT_FLOAT_EQ(float(recorder.records[2].lr), 0.1f);
  EXPECT_FALSE(loop.stopped_on_request());
}

TEST(TrainingLoop, CallbacksHearEachEventInTheListsOrder) {
  struct Named : TrainingCallback {
    Named(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(log) {}
    void on_epoch_end(TrainingLoop&, const EpochRecord&) override { log_.push_back(name_); }
    std::string name_;
    std::vector<std::string>& log_;
  };
  std::vector<std::string> log;
  Named a("a", log), b("b", log), c("c", log);
  FakeSteps steps;
  Communicator one;
  TrainingLoop loop(spec(2), steps, {&b, &a, &c}, fresh(), one, nullptr);
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"b", "a", "c", "b", "a", "c"}));
}

TEST(TrainingLoop, ResumesInTheMiddleOfAnEpochAtTheNextBatch) {
  FakeSteps steps;
  Recorder recorder;
  Communicator one;
  TrainingState start = fresh();
  start.epoch = 1;  // in the second epoch, after its first batch (the run's 4th step)
  start.batch = 1;
  start.step = 4;
  start.loss_sum = 7;  // that batch's sums, as saved
  start.correct = 1;
  start.history.push_back(EpochRecord{1, 0.6, 0.6, 0, 0, 0.1, 1, 1});
  TrainingLoop loop(spec(2), steps, {&recorder}, start, one, nullptr);
  loop.run();
  EXPECT_EQ(steps.calls, (std::vector<std::string>{"begin_epoch 1 from 7", "run 1.1", "run 1.2"}));
  ASSERT_GE(recorder.events.size(), 2u);
  EXPECT_EQ(recorder.events[1], "epoch_begin e1 b1 s4");
  ASSERT_EQ(recorder.records.size(), 1u);
  EXPECT_EQ(recorder.records[0].epoch, 2);
  EXPECT_DOUBLE_EQ(recorder.records[0].loss, (7.0 + 2) / 5);  // the saved sums count
  EXPECT_EQ(loop.state().step, 6);
  EXPECT_EQ(loop.state().history.size(), 2u);
}

TEST(TrainingLoop, AStopRequestEndsAfterTheCurrentStepAndKeepsTheEpochsSums) {
  FakeSteps steps;
  Recorder recorder;
  Communicator one;
  std::atomic<bool> stop{false};
  steps.on_run = [&](int epoch, int batch) {
    if (epoch == 1 && batch == 0) stop = true;  // during the run's 4th step
  };
  TrainingLoop loop(spec(3), steps, {&recorder}, fresh(), one, &stop);
  loop.run();
  EXPECT_TRUE(loop.stopped_on_request());
  EXPECT_EQ(steps.calls.back(), "run 1.0");  // no step after the one under way
  const TrainingState& s = loop.state();
  EXPECT_EQ(s.epoch, 1);
  EXPECT_EQ(s.batch, 1);
  EXPECT_EQ(s.step, 4);
  EXPECT_DOUBLE_EQ(s.loss_sum, 1.0);  // what a resumed run starts the epoch from
  EXPECT_DOUBLE_EQ(s.correct, 1.0);
  EXPECT_EQ(recorder.events.back(), "run_end e1 b1 s4 stopped");
  EXPECT_EQ(recorder.records.size(), 1u);  // the stopped epoch has no record
}

TEST(TrainingLoop, AStopRequestBeforeTheFirstStepRunsNothing) {
  FakeSteps steps;
  Recorder recorder;
  Communicator one;
  std::atomic<bool> stop{true};
  TrainingLoop loop(spec(3), steps, {&recorder}, fresh(), one, &stop);
  loop.run();
  EXPECT_TRUE(steps.calls.empty());
  EXPECT_EQ(recorder.events, (std::vector<std::string>{"run_begin e0 b0 s0", "run_end e0 b0 s0 stopped"}));
}

void expect_divergence(TrainingLoop& loop, const char* message) {
  try {
    loop.run();
    FAIL() << "no TrainingDiverged";
  } catch (const TrainingDiverged& e) {
    EXPECT_STREQ(e.what(), message);
  }
}

TEST(TrainingLoop, ANonFiniteLossAtAnEpochsEndNamesTheEpochAndStep) {
  FakeSteps steps;
  steps.loss[{1, 2}] = NAN;  // the last batch of the second epoch: seen when the epoch ends
  Recorder recorder;
  Communicator one;
  TrainingLoop loop(spec(3), steps, {&recorder}, fresh(), one, nullptr);
  expect_divergence(loop, "training diverged: the loss became NaN by epoch 2, step 6 (batch 3 of 3)");
  EXPECT_EQ(recorder.records.size(), 1u);  // epoch 2 was never recorded
}

TEST(TrainingLoop, ANonFiniteLossIsCaughtWithinAnEpochEveryFiftySteps) {
  FakeSteps steps;
  LoopSpec s = spec(1);
  s.train_count = 200;  // 100 batches
  steps.loss[{0, 10}] = INFINITY;
  Communicator one;
  TrainingLoop loop(s, steps, {}, fresh(), one, nullptr);
  expect_divergence(loop, "training diverged: the loss became infinite by epoch 1, step 50 (batch 50 of 100)");
  EXPECT_EQ(steps.calls.back(), fmt::format("run 0.{}", kDivergenceCheckSteps - 1));
}

// A NaN weight the loss does not show yet: the scan at the next check names it.
TEST(TrainingLoop, ANonFiniteWeightIsCaughtByTheScanEveryFiftySteps) {
  FakeSteps steps;
  LoopSpec s = spec(1);
  s.train_count = 200;  // 100 batches
  steps.bad_weights_from_step = 20;
  Communicator one;
  TrainingLoop loop(s, steps, {}, fresh(), one, nullptr);
  expect_divergence(loop,
                    "training diverged: 1 of 10 weights are NaN or infinite by epoch 1, step 50 (batch 50 of 100)");
  EXPECT_EQ(std::count(steps.calls.begin(), steps.calls.end(), "scan"), 1);
}

TEST(TrainingLoop, ACallbackStopsTheRunAfterTheEpoch) {
  struct StopAfterTwo : TrainingCallback {
    void on_epoch_end(TrainingLoop& loop, const EpochRecord& r) override {
      if (r.epoch == 2) loop.stop_training();
    }
  } stopper;
  FakeSteps steps;
  Recorder recorder;
  Communicator one;
  TrainingLoop loop(spec(5), steps, {&stopper, &recorder}, fresh(), one, nullptr);
  loop.run();
  EXPECT_EQ(recorder.records.size(), 2u);
  EXPECT_EQ(recorder.events.back(), "run_end e2 b0 s6");  // a finished run, not a stopped one
  EXPECT_FALSE(loop.stopped_on_request());
}

TEST(TrainingLoop, ThePlateauScheduleLowersTheRateOfTheNextEpochsSteps) {
  LrScheduleSpec plateau;
  plateau.kind = ScheduleKind::kPlateau;
  plateau.patience = 1;
  plateau.factor = 0.5f;
  ReduceLROnPlateau callback(plateau);
  FakeSteps steps;
  steps.val_loss = {1.0, 2.0, 3.0};  // no improvement after epoch 1: halved after epoch 2
  Communicator one;
  LoopSpec s = spec(3);
  s.schedule = plateau;
  TrainingState start = fresh();
  start.plateau = plateau_start(plateau, 0.1f);
  TrainingLoop loop(s, steps, {&callback}, start, one, nullptr);
  loop.run();
  ASSERT_EQ(steps.lrs.size(), 9u);
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(steps.lrs[size_t(i)], 0.1f) << i;
  for (int i = 6; i < 9; ++i) EXPECT_FLOAT_EQ(steps.lrs[size_t(i)], 0.05f) << i;
}

// Early stopping and the best epoch on a real (small) model, whose weights the fake step sets to
// the epoch's number, so that the restored weights say which epoch they are from.
class EarlyStoppingRun : public ::testing::Test {
 protected:
  EarlyStoppingRun()
      : backend_(make_cpu_backend(1)),
        config_(parse_config(std::string(test::kSmallNetworkIni), "<small>")),
        model_(config_.model, *backend_, 4) {
    model_.initialize(1);
    steps_.on_run = [this](int epoch, int) {
      Model::Snapshot s = model_.snapshot();
      std::fill(s.values.begin(), s.values.end(), float(epoch + 1));
      model_.restore(s);
    };
  }
  float weights_epoch() const { return model_.snapshot().values.at(0); }

  std::unique_ptr<Backend> backend_;
  Config config_;
  Model model_;
  FakeSteps steps_;
  Recorder recorder_;
  Communicator one_;
};

TEST_F(EarlyStoppingRun, StopsWhenPatienceRunsOutAndRestoresTheBestEpoch) {
  config_.early_stopping.enabled = true;
  config_.early_stopping.patience = 2;
  // Best at epoch 3; epochs 4 and 5 do not improve: patience 2 is spent after epoch 5.
  steps_.val_loss = {0.9, 0.8, 0.5, 0.6, 0.5, 0.1, 0.1};
  WeightAveraging weights(model_, *backend_, 0.0f, nullptr);
  EarlyStopping stopping(config_.early_stopping);
  BestEpochTracker best(config_.early_stopping, true, model_, weights);
  TrainingLoop loop(spec(7), steps_, {&recorder_, &weights, &stopping, &best}, fresh_training_state(config_), one_,
                    nullptr);
  loop.run();
  EXPECT_EQ(recorder_.records.size(), 5u);
  EXPECT_EQ(loop.state().best_epoch, 3);
  EXPECT_TRUE(loop.state().stopping.stop);
  EXPECT_FLOAT_EQ(weights_epoch(), 3.0f);  // epoch 5's weights replaced by epoch 3's
  // The recorder comes first: it hears the run end, then the notes sent at it.
  const std::vector<std::string> end(recorder_.events.end() - 3, recorder_.events.end());
  EXPECT_EQ(end, (std::vector<std::string>{"run_end e5 b0 s15",
                                           "note: Early stopping: no improvement of val_loss for 2 epochs (best "
                                           "epoch 3)",
                                           "note: Restored the weights of epoch 3 (best val_loss)"}));
}

TEST_F(EarlyStoppingRun, WithoutEarlyStoppingTheBestIsTheLowestValidationLossAndNothingIsRestored) {
  steps_.val_loss = {0.9, 0.4, 0.5};
  WeightAveraging weights(model_, *backend_, 0.0f, nullptr);
  EarlyStopping stopping(config_.early_stopping);
  BestEpochTracker best(config_.early_stopping, true, model_, weights);
  TrainingLoop loop(spec(3), steps_, {&recorder_, &weights, &stopping, &best}, fresh_training_state(config_), one_,
                    nullptr);
  loop.run();
  EXPECT_EQ(recorder_.records.size(), 3u);
  EXPECT_EQ(loop.state().best_epoch, 2);
  EXPECT_FLOAT_EQ(weights_epoch(), 3.0f);  // the last epoch's
}

TEST_F(EarlyStoppingRun, ARunResumedAfterItsStoppingEpochTrainsNoFurther) {
  config_.early_stopping.enabled = true;
  TrainingState start = fresh_training_state(config_);
  start.epoch = 4;
  start.stopping.stop = true;
  WeightAveraging weights(model_, *backend_, 0.0f, nullptr);
  EarlyStopping stopping(config_.early_stopping);
  TrainingLoop loop(spec(7), steps_, {&stopping, &recorder_}, start, one_, nullptr);
  loop.run();
  EXPECT_TRUE(steps_.calls.empty());
  EXPECT_EQ(recorder_.events, (std::vector<std::string>{"run_begin e4 b0 s0", "run_end e4 b0 s0"}));
}

}  // namespace
}  // namespace hdr

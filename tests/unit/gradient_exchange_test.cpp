// How a data-parallel step hands its gradients to the exchange and waits for it
// (engine/distributed/): the buckets the backward pass's hand-overs are merged into, the polled
// wait under the collective timeout, and a run whose all-reduce never completes, which must end
// through that timeout with exit status 3 instead of hanging.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "engine/backends/device_array.h"
#include "engine/core/errors.h"
#include "engine/distributed/collective_wait.h"
#include "engine/distributed/communicator.h"
#include "engine/distributed/gradient_buckets.h"
#include "engine/distributed/gradient_exchange.h"
#include "engine/io/config.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"
#include "engine/train/train_step.h"
#include "tests/two_conv_network.h"

namespace hdr {
namespace {

// Records each sum as (offset into `base`, count, weight).
class SumRecorder final : public GradientExchange {
 public:
  explicit SumRecorder(const float* base) : base_(base) {}
  std::string describe() const override { return "recorder"; }
  void sum(float* values, size_t count, float weight) override { sums.emplace_back(values - base_, count, weight); }
  void average(float*, size_t) override { ADD_FAILURE() << "the buckets never average"; }
  void sum_now(double*, size_t) override { ADD_FAILURE() << "the buckets never sum statistics"; }
  std::vector<std::tuple<ptrdiff_t, size_t, float>> sums;

 private:
  const float* base_;
};

// The backward pass's order: the last layer's gradients first, each layer's right below the one
// handed over before it.
TEST(GradientBuckets, MergeAdjacentHandOversUntilTheThresholdThenSendThem) {
  float grads[1000];
  SumRecorder exchange(grads);
  GradientBuckets buckets(300);
  // Layers at [800, 1000), [700, 800), [690, 700), [400, 690), [0, 400).
  buckets.add(exchange, grads + 800, 200, 0.5f);
  buckets.add(exchange, grads + 700, 100, 0.5f);  // 300 values: sent
  buckets.add(exchange, grads + 690, 10, 0.5f);
  buckets.add(exchange, grads + 400, 290, 0.5f);  // 300 values: sent
  buckets.add(exchange, grads + 0, 400, 0.5f);    // one layer larger than a bucket: sent alone
  buckets.flush(exchange);                        // nothing open: nothing sent
  using Sum = std::tuple<ptrdiff_t, size_t, float>;
  EXPECT_EQ(exchange.sums, (std::vector<Sum>{{700, 300, 0.5f}, {400, 300, 0.5f}, {0, 400, 0.5f}}));
}

TEST(GradientBuckets, SendTheOpenBucketFirstWhenAHandOverDoesNotTouchItOrWeighsDifferently) {
  float grads[100];
  SumRecorder exchange(grads);
  GradientBuckets buckets(1000);
  buckets.add(exchange, grads + 60, 10, 1.0f);
  buckets.add(exchange, grads + 70, 5, 1.0f);   // touches it from above: joins
  buckets.add(exchange, grads + 20, 10, 1.0f);  // a gap: [60, 75) goes first
  buckets.add(exchange, grads + 10, 10, 0.5f);  // another weight: [20, 30) goes first
  buckets.add(exchange, grads + 5, 0, 0.5f);    // nothing handed over
  buckets.flush(exchange);                      // the end of the backward pass
  using Sum = std::tuple<ptrdiff_t, size_t, float>;
  EXPECT_EQ(exchange.sums, (std::vector<Sum>{{60, 15, 1.0f}, {20, 10, 1.0f}, {10, 10, 0.5f}}));
}

TEST(PollCollective, ReturnsOnceTheWorkIsDone) {
  int calls = 0;
  poll_collective("the test's wait", 5.0, [&] { return ++calls == 200; });
  EXPECT_EQ(calls, 200);
}

TEST(PollCollective, GivesUpAtTheTimeoutNamingTheWait) {
  try {
    poll_collective("the test's wait", 1.0, [] { return false; });
    FAIL() << "a wait that never ends returned";
  } catch (const CollectiveTimeout& e) {
    EXPECT_EQ(std::string(e.what()),
              "the test's wait has waited 1 s for the other processes of the run (train.collective_timeout = 1 s): "
              "one of them stopped responding; giving up");
    EXPECT_EQ(exit_status_of(e), 3);
  }
}

TEST(PollCollective, PassesOnAnErrorReportedWhileWaiting) {
  int calls = 0;
  EXPECT_THROW(poll_collective("the test's wait", 0.0,
                               [&]() -> bool {
                                 if (++calls == 3) throw std::runtime_error("a peer's all-reduce failed");
                                 return false;
                               }),
               std::runtime_error);
  EXPECT_EQ(calls, 3);
}

// Rank 1 of two whose peer never shows: collectives return this rank's own values, and abort()
// ends the process as MPI_Abort does.
class LonelyRank final : public Communicator {
 public:
  int rank() const override { return 1; }
  int size() const override { return 2; }
  void abort(int code) override { std::_Exit(code); }
};

// An NCCL exchange as a hung peer leaves it: the all-reduce's event never completes.
class NeverDoneExchange final : public GradientExchange {
 public:
  explicit NeverDoneExchange(const Communicator& communicator) : communicator_(communicator) {}
  std::string describe() const override { return "never done"; }
  bool overlaps() const override { return true; }
  void sum(float*, size_t, float) override {}
  void average(float*, size_t) override {}
  void sum_now(double*, size_t) override {}
  void wait() override {
    poll_collective("the all-reduce of the gradients", communicator_.timeout(), [] { return false; });
  }

 private:
  const Communicator& communicator_;
};

// What `hdr train` does on each rank: steps, and a failure ends the whole run.
void train_one_step_as_rank(Communicator& communicator) {
  try {
    auto backend = make_cpu_backend(1);
    const Config config = parse_config(std::string(test::kTwoConvIni), "<two_conv>");
    const DeviceImages data(*backend, test::two_conv_images(4));
    Model model(config.model, *backend, 4);
    model.initialize(3);
    TrainStep step(model, *backend, config);
    step.attach_communicator(&communicator, std::make_unique<NeverDoneExchange>(communicator));
    DeviceArray<double> metrics(*backend, 2);
    metrics.zero();
    step.run(data, data.rows.data() + 2, 2, 0, 2, 0.01f, metrics.data(), 4);
  } catch (const std::exception& e) {
    end_run_after_failure(communicator, e);
  }
  std::exit(0);  // the step returned: the wait did not hold it
}

TEST(CollectiveTimeoutDeathTest, AStepWhoseAllReduceNeverCompletesEndsTheRunWithExitStatus3) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  LonelyRank communicator;
  communicator.set_timeout(1.0);
  EXPECT_EXIT(train_one_step_as_rank(communicator), testing::ExitedWithCode(3),
              "hdr: rank 1: error: the all-reduce of the gradients has waited 1 s for the other processes of the "
              "run \\(train.collective_timeout = 1 s\\): one of them stopped responding; giving up");
}

}  // namespace
}  // namespace hdr

// Synchronised batch norm (engine/nn/sync_batch_norm.h) on the CPU, two ranks as two threads
// (tests/two_ranks.h): they train what one process with the whole batches trains; and with an
// overlapping exchange (NCCL's way), the gradients go over in buckets that both ranks cut alike.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/distributed/gradient_exchange.h"
#include "tests/two_ranks.h"

namespace hdr {
namespace {

using test::largest_difference;
using test::one_process;
using test::Trainer;
using test::two_ranks;

std::unique_ptr<Backend> cpu() { return make_cpu_backend(1); }

// An exchange that sums through the host as the CPU backend's does, but says it overlaps, so that
// the step hands it each layer's gradients during the backward pass as NCCL's is handed them;
// it records the calls into `calls`, which outlives it: (first value, count) per sum, (0, 0) at
// each finish().
using Calls = std::vector<std::pair<size_t, size_t>>;
class RecordingExchange final : public GradientExchange {
 public:
  RecordingExchange(Backend& backend, Communicator& communicator, float* grads, Calls& calls)
      : host_(make_host_exchange(backend, communicator)), grads_(grads), calls_(calls) {}
  std::string describe() const override { return "recording"; }
  bool overlaps() const override { return true; }
  void sum(float* values, size_t count, float weight) override {
    calls_.emplace_back(size_t(values - grads_), count);
    host_->sum(values, count, weight);
  }
  void average(float* values, size_t count) override { host_->average(values, count); }
  void sum_now(double* values, size_t count) override { host_->sum_now(values, count); }
  void finish() override { calls_.emplace_back(0, 0); }

 private:
  std::unique_ptr<GradientExchange> host_;
  const float* grads_;
  Calls& calls_;
};

TEST(SyncBatchNorm, TwoRanksTrainWhatOneProcessWithTheWholeBatchTrains) {
  const Model::Snapshot reference = one_process(cpu);
  const Model::Snapshot synced = two_ranks(cpu, true);
  EXPECT_LT(largest_difference(reference.values, synced.values), 1e-5);
  EXPECT_LT(largest_difference(reference.state, synced.state), 1e-5);
  // Per-rank statistics (the default) train something else: the comparison tells them apart.
  const Model::Snapshot per_rank = two_ranks(cpu, false);
  EXPECT_GT(largest_difference(reference.values, per_rank.values), 1e-3);
  EXPECT_GT(largest_difference(reference.state, per_rank.state), 1e-3);
}

// The overlapping exchange (NCCL's way) with synchronised batch norm: the layers' gradients are
// handed over during the backward pass in buckets, interleaved with the batch-norm rounds, and
// the rank with the empty slice makes the same calls in the same order; each step's calls cover
// every gradient once, and the pair still trains what one process trains. The 9 layers with
// gradients, last first: out 170 values, bn4 32, dense 1168, bn3 16, conv3 1160, bn2 32, conv2
// 2320, bn1 32, conv1 160; in buckets of 256 values or more: 202 + 1168, 16 + 1160, 32 + 2320,
// and 32 + 160 sent at the end of the backward pass.
TEST(SyncBatchNorm, BucketedHandOverMatchesBetweenRanksAndCoversEveryGradient) {
  Calls calls[2];
  const Model::Snapshot weights = two_ranks(cpu, true, [&](Trainer& t, Communicator& rank) {
    return std::make_unique<RecordingExchange>(*t.backend, rank, t.model.grads(), calls[rank.rank()]);
  });
  EXPECT_EQ(calls[0], calls[1]) << "the ranks' exchange calls differ";
  const size_t trainable = size_t(Trainer(test::network(true), cpu).model.counts().trainable);
  std::vector<std::pair<size_t, size_t>> step;
  int steps = 0;
  for (const auto& call : calls[0]) {
    if (call.second > 0) {
      step.push_back(call);
      continue;
    }
    ++steps;
    EXPECT_EQ(step.size(), 4u) << "step " << steps;
    for (size_t k = 0; k + 1 < step.size(); ++k)
      EXPECT_GE(step[k].second, 256u) << "step " << steps << ": bucket " << k << " sent before it was full";
    std::sort(step.begin(), step.end());
    size_t covered = 0;
    for (const auto& [first, count] : step) {
      EXPECT_EQ(first, covered) << "step " << steps << ": a gap or an overlap";
      covered = first + count;
    }
    EXPECT_EQ(covered, trainable) << "step " << steps;
    step.clear();
  }
  EXPECT_EQ(steps, 3);
  const Model::Snapshot reference = one_process(cpu);
  EXPECT_LT(largest_difference(reference.values, weights.values), 1e-5);
  EXPECT_LT(largest_difference(reference.state, weights.state), 1e-5);
}

}  // namespace
}  // namespace hdr

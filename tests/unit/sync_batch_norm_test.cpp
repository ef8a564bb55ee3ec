// Synchronised batch norm (engine/nn/sync_batch_norm.h), two ranks as two threads of this process:
// each runs its slice of every global batch through its own CPU backend, model and TrainStep,
// and the pair must end where one process with the whole batches ends, up to the order of the
// sums. The network covers every batch-norm path: ReLU folded in before it and fused with the
// pooling (blocked, 16 channels), ReLU after it and fused, no activation on 8 channels (the plain
// NCHW kernels), and after a dense layer (one value per channel and sample). The last global
// batch holds one sample, so one rank's slice is empty and it only joins the collectives.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/backends/device_array.h"
#include "engine/distributed/communicator.h"
#include "engine/distributed/gradient_exchange.h"
#include "engine/io/config.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"
#include "engine/train/train_step.h"
#include "tests/two_conv_network.h"

namespace hdr {
namespace {

constexpr const char* kNetwork = R"([model]
name = every_batch_norm
input = 28x28x1
classes = 10
[layer.conv1]
type = conv2d
filters = 16
kernel = 3
activation = relu
[layer.bn1]
type = batchnorm
[layer.pool1]
type = maxpool
size = 2
[layer.conv2]
type = conv2d
filters = 16
kernel = 3
[layer.bn2]
type = batchnorm
activation = relu
[layer.pool2]
type = maxpool
size = 2
[layer.conv3]
type = conv2d
filters = 8
kernel = 3
[layer.bn3]
type = batchnorm
[layer.flat]
type = flatten
[layer.dense]
type = dense
units = 16
[layer.bn4]
type = batchnorm
activation = relu
[layer.out]
type = dense
units = 10
activation = softmax
[train]
optimizer = sgd
learning_rate = 0.05
batch_size = 8
)";

constexpr int kImages = 17;  // global batches of 8, 8 and 1
constexpr int kBatch = 8;
constexpr uint64_t kSeed = 7;

// Two threads' ranks: sum() adds both ranks' values, in the same order on both.
class ThreadPair {
 public:
  class Rank final : public Communicator {
   public:
    Rank(ThreadPair& pair, int rank) : pair_(pair), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return 2; }
    std::string describe() const override { return "two threads"; }
    void sum(float* values, size_t count) override { pair_.sum(pair_.floats_, rank_, values, count); }
    void sum(double* values, size_t count) override { pair_.sum(pair_.doubles_, rank_, values, count); }

   private:
    ThreadPair& pair_;
    int rank_;
  };

 private:
  template <class T>
  void sum(std::vector<T> (&shared)[2], int rank, T* values, size_t count) {
    shared[rank].assign(values, values + count);
    meet_.arrive_and_wait();
    // Ranks whose calls do not match would deadlock or mix buffers in a real run.
    if (shared[0].size() != shared[1].size()) {
      ADD_FAILURE() << "the ranks sum " << shared[0].size() << " and " << shared[1].size() << " values";
      count = std::min(shared[0].size(), shared[1].size());
    }
    for (size_t i = 0; i < count; ++i) values[i] = shared[0][i] + shared[1][i];
    meet_.arrive_and_wait();  // both have read before either writes again
  }

  std::barrier<> meet_{2};
  std::vector<float> floats_[2];
  std::vector<double> doubles_[2];
};

// One process's model, step and data on its own single-threaded CPU backend.
struct Trainer {
  explicit Trainer(const Config& network)
      : config(network),
        data(*backend, test::two_conv_images(kImages)),
        model(config.model, *backend, kBatch),
        step(model, *backend, config),
        metrics(*backend, 2) {
    model.initialize(kSeed);
    metrics.zero();
  }
  // Its slice [first, first + n) of the global batches of the epoch.
  void run_slices(int rank, int ranks) {
    for (int first = 0; first < kImages; first += kBatch) {
      const int n = std::min(kBatch, kImages - first);
      const int lo = first + n * rank / ranks, hi = first + n * (rank + 1) / ranks;
      step.run(data, data.rows.data() + lo, hi - lo, 0, lo, config.train.learning_rate, metrics.data(), n);
    }
  }
  Config config;
  std::unique_ptr<Backend> backend = make_cpu_backend(1);
  DeviceImages data;
  Model model;
  TrainStep step;
  DeviceArray<double> metrics;
};

Config network(bool sync) {
  Config config = parse_config(kNetwork, "<every_batch_norm>");
  config.train.sync_batchnorm = sync;
  return config;
}

// An exchange that sums through the host as the CPU backend's does, but says it overlaps, so that
// the step hands it each layer's gradients during the backward pass as NCCL's is handed them;
// it records the calls: (first value, count) per sum, (0, 0) at each finish().
class RecordingExchange final : public GradientExchange {
 public:
  RecordingExchange(Backend& backend, Communicator& communicator, float* grads)
      : host_(make_host_exchange(backend, communicator)), grads_(grads) {}
  std::string describe() const override { return "recording"; }
  bool overlaps() const override { return true; }
  void sum(float* values, size_t count, float weight) override {
    calls.emplace_back(size_t(values - grads_), count);
    host_->sum(values, count, weight);
  }
  void finish() override { calls.emplace_back(0, 0); }
  std::vector<std::pair<size_t, size_t>> calls;

 private:
  std::unique_ptr<GradientExchange> host_;
  const float* grads_;
};

struct TwoRanks {
  Model::Snapshot weights;                          // rank 0's, after the epoch
  std::vector<std::pair<size_t, size_t>> calls[2];  // each rank's exchange calls (overlapping only)
};

// Two ranks train the epoch, through the backend's exchange or a recording, overlapping one.
TwoRanks two_ranks(bool sync, bool overlap = false) {
  ThreadPair pair;
  ThreadPair::Rank rank0(pair, 0), rank1(pair, 1);
  Trainer a(network(sync)), b(network(sync));
  RecordingExchange* recorded[2] = {nullptr, nullptr};
  auto attach = [&](Trainer& t, ThreadPair::Rank& rank) {
    if (!overlap) return t.step.attach_communicator(&rank);
    auto exchange = std::make_unique<RecordingExchange>(*t.backend, rank, t.model.grads());
    recorded[rank.rank()] = exchange.get();
    t.step.attach_communicator(&rank, std::move(exchange));
  };
  attach(a, rank0);
  attach(b, rank1);
  std::thread other([&] {
    b.backend->attach_thread(0);
    b.run_slices(1, 2);
  });
  a.run_slices(0, 2);
  other.join();
  TwoRanks r{a.model.snapshot(), {}};
  const Model::Snapshot theirs = b.model.snapshot();
  EXPECT_EQ(r.weights.values, theirs.values) << "the ranks hold different weights";
  EXPECT_EQ(r.weights.state, theirs.state) << "the ranks hold different moving statistics";
  for (int k = 0; k < 2; ++k)
    if (recorded[k]) r.calls[k] = recorded[k]->calls;
  return r;
}

double largest_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(double(a[i]) - b[i]));
  return d;
}

Model::Snapshot one_process() {
  Trainer one(network(true));  // one process: the option changes nothing
  one.run_slices(0, 1);
  return one.model.snapshot();
}

TEST(SyncBatchNorm, TwoRanksTrainWhatOneProcessWithTheWholeBatchTrains) {
  const Model::Snapshot reference = one_process();
  const Model::Snapshot synced = two_ranks(true).weights;
  EXPECT_LT(largest_difference(reference.values, synced.values), 1e-5);
  EXPECT_LT(largest_difference(reference.state, synced.state), 1e-5);
  // Per-rank statistics (the default) train something else: the comparison tells them apart.
  const Model::Snapshot per_rank = two_ranks(false).weights;
  EXPECT_GT(largest_difference(reference.values, per_rank.values), 1e-3);
  EXPECT_GT(largest_difference(reference.state, per_rank.state), 1e-3);
}

// The overlapping exchange (NCCL's way) with synchronised batch norm: the layers' gradients are
// handed over during the backward pass, interleaved with the batch-norm rounds, and the rank
// with the empty slice makes the same calls in the same order; each step's calls cover every
// gradient once, and the pair still trains what one process trains.
TEST(SyncBatchNorm, LayerByLayerHandOverMatchesBetweenRanksAndCoversEveryGradient) {
  const TwoRanks r = two_ranks(true, true);
  EXPECT_EQ(r.calls[0], r.calls[1]) << "the ranks' exchange calls differ";
  const size_t trainable = size_t(Trainer(network(true)).model.counts().trainable);
  std::vector<std::pair<size_t, size_t>> step;
  int steps = 0;
  for (const auto& call : r.calls[0]) {
    if (call.second > 0) {
      step.push_back(call);
      continue;
    }
    ++steps;
    EXPECT_GT(step.size(), 1u) << "step " << steps << ": handed over in one piece, not layer by layer";
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
  const Model::Snapshot reference = one_process();
  EXPECT_LT(largest_difference(reference.values, r.weights.values), 1e-5);
  EXPECT_LT(largest_difference(reference.state, r.weights.state), 1e-5);
}

}  // namespace
}  // namespace hdr

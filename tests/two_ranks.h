// Two ranks of a data-parallel run as two threads of one process, for the tests of synchronised
// batch norm (tests/unit/sync_batch_norm_test.cpp on the CPU, tests/gpu on one GPU): each runs
// its slice of every global batch through its own backend, model and TrainStep, and the pair
// must end where one process with the whole batches ends, up to the order of the sums. The
// network covers every batch-norm path: ReLU folded in before it and fused with the pooling,
// ReLU after it and fused, no activation on 8 channels (the plain NCHW kernels), and after a
// dense layer (one value per channel and sample). The last global batch holds one sample, so one
// rank's slice is empty and it only joins the collectives.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/backends/device_array.h"
#include "engine/distributed/communicator.h"
#include "engine/distributed/gradient_exchange.h"
#include "engine/io/config.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"
#include "engine/train/train_step.h"
#include "tests/two_conv_network.h"

namespace hdr::test {

inline constexpr const char* kNetwork = R"([model]
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

inline constexpr int kImages = 17;  // global batches of 8, 8 and 1
inline constexpr int kBatch = 8;
inline constexpr uint64_t kSeed = 7;

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

using BackendMaker = std::function<std::unique_ptr<Backend>()>;

// One process's model, step and data on its own backend.
struct Trainer {
  Trainer(const Config& network, const BackendMaker& make_backend)
      : config(network),
        backend(make_backend()),
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
  std::unique_ptr<Backend> backend;
  DeviceImages data;
  Model model;
  TrainStep step;
  DeviceArray<double> metrics;
};

inline Config network(bool sync) {
  Config config = parse_config(kNetwork, "<every_batch_norm>");
  config.train.sync_batchnorm = sync;
  config.train.gradient_bucket_kib = 1;  // 256 values: a few buckets a step
  return config;
}

// What replaces a rank's exchange (null: the backend's own).
using ExchangeMaker = std::function<std::unique_ptr<GradientExchange>(Trainer&, Communicator&)>;

// Two ranks train the epoch; rank 0's weights at the end, which rank 1 must hold too.
inline Model::Snapshot two_ranks(const BackendMaker& make_backend, bool sync, const ExchangeMaker& make_exchange = {}) {
  ThreadPair pair;
  ThreadPair::Rank rank0(pair, 0), rank1(pair, 1);
  Trainer a(network(sync), make_backend), b(network(sync), make_backend);
  auto attach = [&](Trainer& t, ThreadPair::Rank& rank) {
    t.step.attach_communicator(&rank, make_exchange ? make_exchange(t, rank) : nullptr);
  };
  attach(a, rank0);
  attach(b, rank1);
  std::thread other([&] {
    b.backend->attach_thread(0);
    b.run_slices(1, 2);
  });
  a.run_slices(0, 2);
  other.join();
  const Model::Snapshot mine = a.model.snapshot(), theirs = b.model.snapshot();
  EXPECT_EQ(mine.values, theirs.values) << "the ranks hold different weights";
  EXPECT_EQ(mine.state, theirs.state) << "the ranks hold different moving statistics";
  return mine;
}

inline double largest_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(double(a[i]) - b[i]));
  return d;
}

inline Model::Snapshot one_process(const BackendMaker& make_backend) {
  Trainer one(network(true), make_backend);  // one process: the option changes nothing
  one.run_slices(0, 1);
  return one.model.snapshot();
}

}  // namespace hdr::test

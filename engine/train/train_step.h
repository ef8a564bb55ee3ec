// One optimizer step: augment the batch on the device, forward, softmax cross-entropy, backward,
// (data-parallel: the gradient exchange,) update. The training loop, `hdr bench` and `hdr selftest`
// run it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/backends/backend.h"
#include "engine/backends/device_array.h"
#include "engine/distributed/communicator.h"
#include "engine/distributed/gradient_buckets.h"
#include "engine/distributed/gradient_exchange.h"
#include "engine/io/config.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"
#include "engine/profile/profiling_backend.h"

namespace hdr {

// What a caller may look at inside a step, on the device, before the optimizer changes anything:
// the logits after the forward pass and the gradients after the backward pass. `hdr selftest`
// compares the GPU's with the CPU's, so the step it checks is the one that trains.
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  virtual void logits(const float* device_logits, int n, int classes) = 0;
  virtual void gradients(const float* device_grads, size_t count) = 0;
};

// One optimizer step: augment the batch on the device, forward, softmax cross-entropy,
// backward, update. Owns the batch buffers (sized once); the trainer, `hdr bench` and
// `hdr selftest` run it.
class TrainStep {
 public:
  TrainStep(Model& model, Backend& backend, const Config& config);
  // While attached (not null), the step names its pieces on the profiler ("data", each layer's
  // forward and backward, "loss", "optimizer") and ends each step there. The profiler must be
  // the backend this step and its model run on.
  void attach_profile(ProfilingBackend* profiler);
  // Data-parallel runs (not null, more than one rank): the gradients are summed over the ranks,
  // each weighted by its share of the global batch, through the backend's exchange (in buckets
  // of [train] gradient_bucket_kib during the backward pass where it overlaps), and the
  // batch-norm moving statistics averaged (unless synchronised), so that every rank applies the
  // same update to the same weights. `exchange` replaces the backend's (tests: an overlapping
  // one on the CPU).
  void attach_communicator(Communicator* communicator, std::unique_ptr<GradientExchange> exchange = nullptr);
  // What sums the gradients ("" in one process).
  std::string exchange_description() const;
  // While attached (not null), the observer sees each step's logits and gradients (before they
  // are summed over ranks; an overlapping exchange may be summing them in place: one process only).
  void attach_observer(StepObserver* observer) { observer_ = observer; }
  // rows: the batch's n dataset rows (on the device); first_sample: the batch's position in the
  // epoch (keys dropout); metrics (device, 2 doubles) += loss sum and correct count. With a
  // communicator, n is this rank's slice (possibly empty) of a global batch of global_n.
  void run(const DeviceImages& data, const int32_t* rows, int n, int epoch, int first_sample, float lr, double* metrics,
           int global_n = 0);
  // A resumed run's step count (Adam's bias correction depends on it).
  void resume_at(int64_t steps_done) { step_ = steps_done; }

 private:
  void enter(const char* scope);  // names the ops that follow on the profiler, if attached
  bool synced_batch_norm() const { return spec_.sync_batchnorm && communicator_ && communicator_->size() > 1; }
  void finish_exchange(float share, bool overlapped);

  Model& model_;
  Backend& backend_;
  const TrainSpec& spec_;
  AugmentParams augment_;
  DeviceArray<float> x_, dlogits_;
  DeviceArray<uint8_t> labels_;
  int64_t step_ = 0;
  ProfilingBackend* profiler_ = nullptr;
  StepObserver* observer_ = nullptr;
  Communicator* communicator_ = nullptr;
  std::unique_ptr<GradientExchange> exchange_;  // with more than one rank
  GradientBuckets buckets_;                     // what an overlapping exchange is handed
};

}  // namespace hdr

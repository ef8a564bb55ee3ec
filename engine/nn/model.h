// A sequential model built from a ModelSpec. Owns the layers, the activations (sized once for
// max_batch), and the flat parameter buffers: trainable values, their gradients and the two
// optimizer moments are each one contiguous array, so one optimizer pass updates everything;
// the non-trainable state (batch-norm moving statistics) is a separate array.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/backends/device_array.h"
#include "engine/io/checkpoint.h"
#include "engine/io/config.h"
#include "engine/nn/layers/layer.h"
#include "engine/profile/profiling_backend.h"

namespace hdr {

struct ParamCounts {
  int64_t trainable = 0, non_trainable = 0;
  int64_t total() const { return trainable + non_trainable; }
};

class Model {
 public:
  Model(const ModelSpec& spec, Backend& backend, int max_batch);

  const ModelSpec& spec() const { return spec_; }
  Shape input_shape() const { return Shape{spec_.input_c, spec_.input_h, spec_.input_w}; }
  int classes() const { return spec_.classes; }
  int max_batch() const { return max_batch_; }
  ParamCounts counts() const { return counts_; }
  std::string summary() const;  // Keras-like table: layer, output shape, parameters, totals
  int64_t forward_flops_per_image() const;
  // What this backend performs per image in a batch of n (Layer::performed_flops): a training
  // step's (forward and the gradients; the first layer has no input gradient) or, without
  // `training`, the forward's.
  double performed_flops_per_image(int n, bool training) const;

  // Has the backend plan everything a batch of n samples runs (training: forward and backward;
  // otherwise inference), before the first such batch: Backend::prepare_*.
  void prepare(int n, bool training);

  // While attached (not null), training passes name each layer's ops "<layer> forward" or
  // "<layer> backward" on the profiler, which must be the backend the passes run on.
  void attach_profile(ProfilingBackend* profiler);

  // Weights drawn from Philox keyed by seed (glorot uniform / he normal, Keras' formulas).
  void initialize(uint64_t seed);

  // x: n x input on the backend. Returns the logits (n x classes) on the backend.
  const float* forward(const Pass& pass, const float* x);
  // dlogits (n x classes, overwritten) -> gradients of every trainable parameter. With `ready`,
  // each layer's gradients (a range of grads(): first, count) are handed over as soon as its
  // backward pass has written them, last layer first: a data-parallel step starts summing them
  // while the backward pass goes on.
  using GradsReady = std::function<void(size_t first, size_t count)>;
  void backward(const Pass& pass, const float* x, float* dlogits, const GradsReady* ready = nullptr);
  // A data-parallel rank with no samples in a step: takes part in what the others' step does
  // with the other ranks, in the same order: the synchronised batch-norm rounds (sync), forward
  // then backward, and the hand-over of each layer's gradients (ready; zeros here).
  void join_step(const BatchSync* sync, const GradsReady* ready);

  float* values() { return values_.data(); }
  float* grads() { return grads_.data(); }
  float* moment1() { return moment1_.data(); }
  float* moment2() { return moment2_.data(); }
  float* state() { return state_.data(); }  // the non-trainable values (batch-norm moving statistics)
  const std::vector<ParamSegment>& segments() const { return segments_; }
  void reset_optimizer_state();

  // Host copies of all values and state: best-weights snapshots and checkpoints.
  struct Snapshot {
    std::vector<float> values, state;
  };
  Snapshot snapshot() const;
  void restore(const Snapshot& s);

  // Checkpoint tensors. The weights are named "<layer>.<param>"; a run's training state stores
  // more tensors of the same names under a prefix ending in '/' ("moment1/", "best/"), which
  // load_tensors ignores. Loading checks every name and shape against this model (InputError
  // naming `source`).
  std::vector<NamedTensor> tensors() const;
  std::vector<NamedTensor> tensors(const Snapshot& s, const std::string& prefix) const;
  void load_tensors(const std::vector<NamedTensor>& tensors, const std::string& source);
  Snapshot snapshot_from(const std::vector<NamedTensor>& tensors, const std::string& prefix,
                         const std::string& source) const;
  // The optimizer's moments (Adam's m and v; SGD's velocity is moment1) as "moment1/..." and
  // "moment2/..." tensors of the trainable parameters.
  std::vector<NamedTensor> optimizer_tensors() const;
  // A host copy of a buffer laid out as values() or grads(), as the named trainable tensors.
  std::vector<NamedTensor> trainable_tensors(const std::vector<float>& flat) const;
  void load_optimizer_tensors(const std::vector<NamedTensor>& tensors, const std::string& source);

 private:
  struct Slot {  // where one ParamInfo lives
    int layer = 0;
    ParamInfo info;
    bool trainable = true;
    size_t offset = 0;  // in values_/grads_ (trainable) or state_
  };

  // The tensors of every slot (trainable only when state is null), named prefix + slot name; and
  // back: the tensors under `prefix` copied into buffers laid out as values/state (every name and
  // shape checked, an InputError naming `source`).
  std::vector<NamedTensor> named_tensors(const std::string& prefix, const float* values, const float* state) const;
  void copy_from_named(const std::vector<NamedTensor>& tensors, const std::string& prefix, float* values, float* state,
                       const std::string& source) const;

  ModelSpec spec_;
  Backend& backend_;
  int max_batch_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Slot> slots_;
  std::vector<ParamSegment> segments_;
  ParamCounts counts_;
  DeviceArray<float> values_, grads_, moment1_, moment2_, state_;
  std::vector<DeviceArray<float>> activations_;  // each layer's output
  // fused_[i]: layer i is a batch norm whose max pooling (layer i + 1) runs in the same op.
  std::vector<bool> fused_;
  // Layers 0..2 are a convolution and a fused batch norm + max pooling, whose backward runs as
  // one op (Backend::conv_bn_relu_maxpool_backward): the network's input needs no gradient.
  // Its inference forward runs as one op too (Backend::conv_bn_relu_maxpool_forward_infer).
  bool first_block_ = false;
  const float* forward_first_block(const Pass& pass, const float* x);
  void backward_first_block(const Pass& pass, const float* x, const float* dy, float* scratch);
  DeviceArray<float> grad_a_, grad_b_;                  // ping-pong buffers for backward
  std::vector<std::pair<size_t, size_t>> grad_ranges_;  // per layer: its trainable range of grads_ (first, count)
  ProfilingBackend* profiler_ = nullptr;
  std::vector<std::array<std::string, 2>> scopes_;  // per layer: forward, backward
  void enter(size_t layer, bool backward, const Pass& pass);
  template <class Step>
  void walk_backward(Step&& step, const GradsReady* ready);
};

}  // namespace hdr

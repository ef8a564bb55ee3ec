// A layer of a sequential model: knows its shapes and parameters, runs forward and backward on
// a backend. Parameters live in the model's flat buffers (one optimizer pass updates them all);
// a layer only receives pointers into them. Per-sample shapes are (c, h, w); a batch is NCHW.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/io/config.h"
#include "engine/nn/sync_batch_norm.h"

namespace hdr {

struct Shape {
  int c = 1, h = 1, w = 1;
  int64_t size() const { return int64_t(c) * h * w; }
  std::string str() const;  // Keras order: "(26, 26, 32)" or "(128)"
  bool operator==(const Shape&) const = default;
};

enum class ParamInit { kGlorotUniform, kHeNormal, kZeros, kOnes };

struct ParamInfo {
  std::string name;  // "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"
  std::vector<int64_t> shape;
  bool trainable = true;  // false: batch-norm moving statistics (updated by forward, not by the optimizer)
  ParamInit init = ParamInit::kZeros;
  int fan_in = 0, fan_out = 0;
  float l2 = 0.0f;  // kernel regularizer
  int64_t size() const;
};

// What a forward/backward call needs besides the tensors.
struct Pass {
  Backend& backend;
  int n = 0;                        // samples in this batch
  bool training = false;            // batch statistics and dropout on
  RandomKey key;                    // seed and epoch; layers set their own stream
  int first_sample = 0;             // position of the batch's first sample in the epoch
  const BatchSync* sync = nullptr;  // training: batch norm over the global batch of a data-parallel run
};

class Layer {
 public:
  Layer(std::string name, Shape in, Shape out) : name_(std::move(name)), in_(in), out_(out) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  virtual const char* kind() const = 0;  // Keras class name, for the summary
  const std::string& name() const { return name_; }
  Shape input_shape() const { return in_; }
  Shape output_shape() const { return out_; }
  // How the backend lays out this layer's input activations (Backend::activation_layout): the
  // model asks once, when it is built; the layer passes it with every op on them.
  Layout input_layout() const { return in_layout_; }
  void set_input_layout(Layout layout) { in_layout_ = layout; }
  // The input as the ops see it, for a batch of n.
  ActivationShape input_activations(int n) const {
    return ActivationShape{n, in_.c, int64_t(in_.h) * in_.w, in_layout_};
  }

  virtual std::vector<ParamInfo> params() const { return {}; }
  // Floating-point operations of the forward pass per sample (multiply-add = 2), for GFLOP/s.
  virtual int64_t forward_flops() const { return 0; }
  // The floating-point operations per sample the backend performs for this layer in a batch of
  // n: the forward pass, and with `training` the weight gradient and (input_gradient: all but the
  // first layer) the input gradient, each as many as the forward's. Fewer than the formula's where
  // the backend runs an algorithm with fewer multiplies (Backend::conv_multiply_adds).
  virtual double performed_flops(const Backend&, int /*n*/, bool training, bool input_gradient) const {
    return (training ? (input_gradient ? 3.0 : 2.0) : 1.0) * double(forward_flops());
  }
  // Pointers into the model's buffers, in the order of params(); grads are null for
  // non-trainable entries.
  void bind(std::vector<float*> values, std::vector<float*> grads) {
    values_ = std::move(values);
    grads_ = std::move(grads);
  }
  virtual void allocate_workspace(Backend&, int /*max_batch*/) {}
  // Tells the backend the shapes this layer runs for batches of n (Backend::prepare_*);
  // input_grad: backward computes dx (every layer but the first).
  virtual void prepare(Backend&, int /*n*/, bool /*training*/, bool /*input_grad*/) const {}
  // Passes its input through unchanged outside training (dropout): the model then skips it.
  virtual bool identity_at_inference() const { return false; }

  virtual void forward(const Pass& pass, const float* x, float* y) = 0;
  // dy may be overwritten (it is scratch); dx is null for the first layer (no input gradient).
  virtual void backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) = 0;

 protected:
  std::vector<float*> values_, grads_;

 private:
  std::string name_;
  Shape in_, out_;
  Layout in_layout_ = Layout::kNchw;
};

// Builds the layer for spec at position index (the index keys its dropout stream). fused_relu:
// the previous conv/dense layer's ReLU is folded into this batch norm (y = bn(relu(x))).
std::unique_ptr<Layer> make_layer(const LayerSpec& spec, int index, Shape in, bool fused_relu);

}  // namespace hdr

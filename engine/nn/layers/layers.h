// The layer kinds a config can name. Each is defined in its own file here.
#pragma once

#include <fmt/format.h>

#include "engine/backends/device_array.h"
#include "engine/nn/layers/layer.h"

namespace hdr {

class Conv2D final : public Layer {
 public:
  Conv2D(const LayerSpec& spec, Shape in, bool relu);
  const char* kind() const override { return "Conv2D"; }
  std::vector<ParamInfo> params() const override;
  int64_t forward_flops() const override;
  double performed_flops(const Backend& backend, int n, bool training, bool input_gradient) const override;
  void forward(const Pass& pass, const float* x, float* y) override;
  void backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) override;
  void prepare(Backend& backend, int n, bool training, bool input_grad) const override;
  static ConvGeometry geometry_for(const LayerSpec& spec, Shape in, int n);
  bool applies_relu() const { return relu_; }
  // The weight gradient from the output gradient dy (no ReLU of this layer's own to undo).
  ConvBackwardWeightsArgs weight_grad_args(int n, const float* x, const float* dy) const;
  // The convolution of forward, without this layer's own ReLU.
  ConvForwardArgs forward_args(int n, const float* x, float* y) const;

 private:
  static Shape output_for(const LayerSpec& spec, Shape in);
  LayerSpec spec_;
  bool relu_;
};

// y (n x units) = x (n x in) * kernel (in x units) + bias, through the backend's row-major gemm.
class Dense final : public Layer {
 public:
  Dense(const LayerSpec& spec, Shape in, bool relu);
  const char* kind() const override { return "Dense"; }
  std::vector<ParamInfo> params() const override;
  int64_t forward_flops() const override { return 2 * int64_t(input_shape().c) * spec_.units; }
  void forward(const Pass& pass, const float* x, float* y) override;
  void backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) override;

 private:
  LayerSpec spec_;
  bool relu_;
};

class MaxPool2D;

class BatchNorm final : public Layer {
 public:
  BatchNorm(const LayerSpec& spec, Shape in, BnActivation activation);
  // This layer and the max pooling after it in one backend op (Backend::bn_relu_maxpool_*):
  // the same results as the two layers one after the other. bn_out is this layer's own output
  // buffer, scratch here; dy is the pooled gradient.
  void forward_pooled(const Pass& pass, MaxPool2D& pool, const float* x, float* bn_out, float* y);
  void backward_pooled(const Pass& pass, MaxPool2D& pool, const float* x, const float* dy, float* bn_out, float* dx);
  BnReluMaxpoolBackwardArgs pooled_backward_args(const Pass& pass, MaxPool2D& pool, const float* x, const float* dy,
                                                 float* bn_out, float* dx);
  // forward_pooled's op at inference.
  BnReluMaxpoolForwardInferArgs pooled_infer_args(const Pass& pass, MaxPool2D& pool, const float* x, float* bn_out,
                                                  float* y) const;
  const char* kind() const override { return "BatchNormalization"; }
  std::vector<ParamInfo> params() const override;
  void allocate_workspace(Backend& backend, int max_batch) override;
  void prepare(Backend& backend, int n, bool training, bool input_grad) const override;
  void forward(const Pass& pass, const float* x, float* y) override;
  void backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) override;
  // A rank with no samples in this step still takes part in the synchronised statistics' rounds
  // (forward, then backward), so that the other ranks' collectives match.
  void join_forward(const BatchSync& sync);
  void join_backward(const BatchSync& sync);

 private:
  BatchNormGeometry geometry(int n) const;
  BnReluForwardInferArgs infer_args(int n, const float* x, const float* mean, const float* var, float* y) const;
  // Synchronised training forward: the training op on the slice (into `out`), the global
  // statistics, then the inference op applies them (through `apply`).
  template <class Apply>
  void forward_synced(const Pass& pass, const float* x, float* out, Apply&& apply);
  void adjust_synced(const Pass& pass, const float* x, float* dx);
  LayerSpec spec_;
  BnActivation activation_;
  DeviceArray<float> save_mean_, save_inv_std_;
  SyncBatchNorm sync_;
};

class MaxPool2D final : public Layer {
 public:
  MaxPool2D(const LayerSpec& spec, Shape in);
  const char* kind() const override { return "MaxPooling2D"; }
  void allocate_workspace(Backend& backend, int max_batch) override;
  void forward(const Pass& pass, const float* x, float* y) override;
  void backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) override;
  PoolGeometry geometry(int n) const;
  int32_t* argmax() { return argmax_.data(); }
  // x at each argmax, recorded by a fused batch norm's training forward for its backward
  // (BnReluMaxpoolForwardTrainArgs::x_max).
  float* x_max() { return x_max_.data(); }

 private:
  int size_, stride_;
  DeviceArray<int32_t> argmax_;
  DeviceArray<float> x_max_;
};

class Dropout final : public Layer {
 public:
  Dropout(const LayerSpec& spec, int index, Shape in);
  const char* kind() const override { return "Dropout"; }
  bool identity_at_inference() const override { return true; }
  void allocate_workspace(Backend& backend, int max_batch) override;
  void forward(const Pass& pass, const float* x, float* y) override;
  void backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) override;

 private:
  RandomKey key(const Pass& pass) const;
  float rate_;
  uint32_t stream_;
  DeviceArray<uint8_t> keep_bits_;  // the last forward's mask, for its backward
};

// Rows of c x h x w values in NCHW order (Keras' order is h, w, c: irrelevant unless weights
// are exchanged with it). A layout change on backends that block activations.
class Flatten final : public Layer {
 public:
  Flatten(const LayerSpec& spec, Shape in) : Layer(spec.name, in, Shape{int(in.size()), 1, 1}) {}
  const char* kind() const override { return "Flatten"; }
  void forward(const Pass& pass, const float* x, float* y) override {
    pass.backend.flatten_forward({.shape = input_activations(pass.n), .x = x, .y = y});
  }
  void backward(const Pass& pass, const float*, const float*, float* dy, float* dx) override {
    if (dx) pass.backend.flatten_backward({.shape = input_activations(pass.n), .dy = dy, .dx = dx});
  }
};

class ReLU final : public Layer {
 public:
  ReLU(const LayerSpec& spec, Shape in) : Layer(spec.name, in, in) {}
  const char* kind() const override { return "ReLU"; }
  void forward(const Pass& pass, const float* x, float* y) override;
  void backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) override;
};

}  // namespace hdr

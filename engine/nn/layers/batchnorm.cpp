// BatchNormalization (Keras semantics: gamma/beta trainable, moving mean/variance not),
// fused with the ReLU before or after it.
#include "engine/nn/layers/layers.h"

namespace hdr {

BatchNorm::BatchNorm(const LayerSpec& spec, Shape in, BnActivation activation)
    : Layer(spec.name, in, in), spec_(spec), activation_(activation) {}

std::vector<ParamInfo> BatchNorm::params() const {
  const int64_t c = input_shape().c;
  return {
      ParamInfo{"gamma", {c}, true, ParamInit::kOnes, 0, 0, 0.0f},
      ParamInfo{"beta", {c}, true, ParamInit::kZeros, 0, 0, 0.0f},
      ParamInfo{"moving_mean", {c}, false, ParamInit::kZeros, 0, 0, 0.0f},
      ParamInfo{"moving_variance", {c}, false, ParamInit::kOnes, 0, 0, 0.0f},
  };
}

void BatchNorm::allocate_workspace(Backend& backend, int) {
  save_mean_ = DeviceArray<float>(backend, input_shape().c);
  save_inv_std_ = DeviceArray<float>(backend, input_shape().c);
  sync_.allocate(backend, input_shape().c);
}

// Only training reduces over the batch: inference has nothing to plan.
void BatchNorm::prepare(Backend& backend, int n, bool training, bool) const {
  if (training) backend.prepare_batch_norm(geometry(n));
}

BatchNormGeometry BatchNorm::geometry(int n) const {
  BatchNormGeometry g;
  g.n = n;
  g.c = input_shape().c;
  g.spatial = input_shape().h * input_shape().w;
  g.eps = spec_.eps;
  g.momentum = spec_.momentum;
  g.activation = activation_;
  return g;
}

template <class Apply>
void BatchNorm::forward_synced(const Pass& pass, const float* x, float* out, Apply&& apply) {
  const BatchNormGeometry g = geometry(pass.n);
  pass.backend.bn_relu_forward_train({.g = g,
                                      .layout = input_layout(),
                                      .x = x,
                                      .gamma = values_[0],
                                      .beta = values_[1],
                                      .running_mean = sync_.scratch_running_mean(),
                                      .running_var = sync_.scratch_running_var(),
                                      .save_mean = save_mean_.data(),
                                      .save_inv_std = save_inv_std_.data(),
                                      .y = out});
  sync_.combine_statistics(*pass.sync, g, values_[2], values_[3], save_mean_.data(), save_inv_std_.data());
  apply(save_mean_.data(), sync_.batch_var());
}

void BatchNorm::adjust_synced(const Pass& pass, const float* x, float* dx) {
  sync_.adjust_input_grad(*pass.sync, geometry(pass.n), input_layout(), x, values_[0], save_mean_.data(),
                          save_inv_std_.data(), grads_[0], grads_[1], dx);
}

void BatchNorm::join_forward(const BatchSync& sync) {
  sync_.combine_statistics(sync, geometry(0), values_[2], values_[3], save_mean_.data(), save_inv_std_.data());
}

void BatchNorm::join_backward(const BatchSync& sync) {
  sync_.adjust_input_grad(sync, geometry(0), input_layout(), nullptr, values_[0], save_mean_.data(),
                          save_inv_std_.data(), grads_[0], grads_[1], nullptr);
}

// Inference with the given statistics: the running ones, or a synchronised step's global ones.
BnReluForwardInferArgs BatchNorm::infer_args(int n, const float* x, const float* mean, const float* var,
                                             float* y) const {
  return {.g = geometry(n),
          .layout = input_layout(),
          .x = x,
          .gamma = values_[0],
          .beta = values_[1],
          .running_mean = mean,
          .running_var = var,
          .y = y};
}

void BatchNorm::forward(const Pass& pass, const float* x, float* y) {
  if (pass.training && pass.sync)
    forward_synced(pass, x, y, [&](const float* mean, const float* var) {
      pass.backend.bn_relu_forward_infer(infer_args(pass.n, x, mean, var, y));
    });
  else if (pass.training)
    pass.backend.bn_relu_forward_train({.g = geometry(pass.n),
                                        .layout = input_layout(),
                                        .x = x,
                                        .gamma = values_[0],
                                        .beta = values_[1],
                                        .running_mean = values_[2],
                                        .running_var = values_[3],
                                        .save_mean = save_mean_.data(),
                                        .save_inv_std = save_inv_std_.data(),
                                        .y = y});
  else
    pass.backend.bn_relu_forward_infer(infer_args(pass.n, x, values_[2], values_[3], y));
}

BnReluMaxpoolForwardInferArgs BatchNorm::pooled_infer_args(const Pass& pass, MaxPool2D& pool, const float* x,
                                                           float* bn_out, float* y) const {
  return {.bn = geometry(pass.n),
          .pool = pool.geometry(pass.n),
          .layout = input_layout(),
          .x = x,
          .gamma = values_[0],
          .beta = values_[1],
          .running_mean = values_[2],
          .running_var = values_[3],
          .bn_out = bn_out,
          .y = y,
          .argmax = pass.training ? pool.argmax() : nullptr,  // for backward only
          .x_max = pass.training ? pool.x_max() : nullptr};
}

void BatchNorm::forward_pooled(const Pass& pass, MaxPool2D& pool, const float* x, float* bn_out, float* y) {
  const auto infer = [&](const float* mean, const float* var) {  // the running statistics, or the synced batch's
    BnReluMaxpoolForwardInferArgs a = pooled_infer_args(pass, pool, x, bn_out, y);
    a.running_mean = mean;
    a.running_var = var;
    pass.backend.bn_relu_maxpool_forward_infer(a);
  };
  if (pass.training && pass.sync)
    forward_synced(pass, x, bn_out, infer);
  else if (pass.training)
    pass.backend.bn_relu_maxpool_forward_train({.bn = geometry(pass.n),
                                                .pool = pool.geometry(pass.n),
                                                .layout = input_layout(),
                                                .x = x,
                                                .gamma = values_[0],
                                                .beta = values_[1],
                                                .running_mean = values_[2],
                                                .running_var = values_[3],
                                                .save_mean = save_mean_.data(),
                                                .save_inv_std = save_inv_std_.data(),
                                                .bn_out = bn_out,
                                                .y = y,
                                                .argmax = pool.argmax(),
                                                .x_max = pool.x_max()});
  else
    infer(values_[2], values_[3]);
}

BnReluMaxpoolBackwardArgs BatchNorm::pooled_backward_args(const Pass& pass, MaxPool2D& pool, const float* x,
                                                          const float* dy, float* bn_out, float* dx) {
  return {.bn = geometry(pass.n),
          .pool = pool.geometry(pass.n),
          .layout = input_layout(),
          .x = x,
          .dy = dy,
          .argmax = pool.argmax(),
          .gamma = values_[0],
          .beta = values_[1],
          .save_mean = save_mean_.data(),
          .save_inv_std = save_inv_std_.data(),
          .d_bn_out = bn_out,
          .x_max = pool.x_max(),
          .dx = dx,
          .dgamma = grads_[0],
          .dbeta = grads_[1]};
}

void BatchNorm::backward_pooled(const Pass& pass, MaxPool2D& pool, const float* x, const float* dy, float* bn_out,
                                float* dx) {
  pass.backend.bn_relu_maxpool_backward(pooled_backward_args(pass, pool, x, dy, bn_out, dx));
  if (pass.sync) adjust_synced(pass, x, dx);
}

void BatchNorm::backward(const Pass& pass, const float* x, const float*, float* dy, float* dx) {
  pass.backend.bn_relu_backward({.g = geometry(pass.n),
                                 .layout = input_layout(),
                                 .x = x,
                                 .dy = dy,
                                 .gamma = values_[0],
                                 .beta = values_[1],
                                 .save_mean = save_mean_.data(),
                                 .save_inv_std = save_inv_std_.data(),
                                 .dx = dx,
                                 .dgamma = grads_[0],
                                 .dbeta = grads_[1]});
  if (pass.sync) adjust_synced(pass, x, dx);
}

}  // namespace hdr

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
  pass.backend.bn_relu_forward_train(g, x, values_[0], values_[1], sync_.scratch_running_mean(),
                                     sync_.scratch_running_var(), save_mean_.data(), save_inv_std_.data(), out);
  sync_.combine_statistics(*pass.sync, g, values_[2], values_[3], save_mean_.data(), save_inv_std_.data());
  apply(save_mean_.data(), sync_.batch_var());
}

void BatchNorm::adjust_synced(const Pass& pass, const float* x, float* dx) {
  sync_.adjust_input_grad(*pass.sync, geometry(pass.n), x, values_[0], save_mean_.data(), grads_[0], grads_[1], dx);
}

void BatchNorm::join_forward(const BatchSync& sync) {
  sync_.combine_statistics(sync, geometry(0), values_[2], values_[3], save_mean_.data(), save_inv_std_.data());
}

void BatchNorm::join_backward(const BatchSync& sync) {
  sync_.adjust_input_grad(sync, geometry(0), nullptr, values_[0], save_mean_.data(), grads_[0], grads_[1], nullptr);
}

void BatchNorm::forward(const Pass& pass, const float* x, float* y) {
  if (pass.training && pass.sync)
    forward_synced(pass, x, y, [&](const float* mean, const float* var) {
      pass.backend.bn_relu_forward_infer(geometry(pass.n), x, values_[0], values_[1], mean, var, y);
    });
  else if (pass.training)
    pass.backend.bn_relu_forward_train(geometry(pass.n), x, values_[0], values_[1], values_[2], values_[3],
                                       save_mean_.data(), save_inv_std_.data(), y);
  else
    pass.backend.bn_relu_forward_infer(geometry(pass.n), x, values_[0], values_[1], values_[2], values_[3], y);
}

void BatchNorm::forward_pooled(const Pass& pass, MaxPool2D& pool, const float* x, float* bn_out, float* y) {
  if (pass.training && pass.sync)
    forward_synced(pass, x, bn_out, [&](const float* mean, const float* var) {
      pass.backend.bn_relu_maxpool_forward_infer(geometry(pass.n), pool.geometry(pass.n), x, values_[0], values_[1],
                                                 mean, var, bn_out, y, pool.argmax());
    });
  else if (pass.training)
    pass.backend.bn_relu_maxpool_forward_train(geometry(pass.n), pool.geometry(pass.n), x, values_[0], values_[1],
                                               values_[2], values_[3], save_mean_.data(), save_inv_std_.data(), bn_out,
                                               y, pool.argmax());
  else
    pass.backend.bn_relu_maxpool_forward_infer(geometry(pass.n), pool.geometry(pass.n), x, values_[0], values_[1],
                                               values_[2], values_[3], bn_out, y, pool.argmax());
}

void BatchNorm::backward_pooled(const Pass& pass, MaxPool2D& pool, const float* x, const float* dy, float* bn_out,
                                float* dx) {
  pass.backend.bn_relu_maxpool_backward(geometry(pass.n), pool.geometry(pass.n), x, dy, pool.argmax(), values_[0],
                                        values_[1], save_mean_.data(), save_inv_std_.data(), bn_out, dx, grads_[0],
                                        grads_[1]);
  if (pass.sync) adjust_synced(pass, x, dx);
}

void BatchNorm::backward(const Pass& pass, const float* x, const float*, float* dy, float* dx) {
  pass.backend.bn_relu_backward(geometry(pass.n), x, dy, values_[0], values_[1], save_mean_.data(),
                                save_inv_std_.data(), dx, grads_[0], grads_[1]);
  if (pass.sync) adjust_synced(pass, x, dx);
}

}  // namespace hdr

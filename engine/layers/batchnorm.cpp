// BatchNormalization (Keras semantics: gamma/beta trainable, moving mean/variance not),
// fused with the ReLU before or after it.
#include "engine/layers/layers.h"

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

void BatchNorm::forward(const Pass& pass, const float* x, float* y) {
  if (pass.training)
    pass.backend.bn_relu_forward_train(geometry(pass.n), x, values_[0], values_[1], values_[2], values_[3],
                                       save_mean_.data(), save_inv_std_.data(), y);
  else
    pass.backend.bn_relu_forward_infer(geometry(pass.n), x, values_[0], values_[1], values_[2], values_[3], y);
}

void BatchNorm::forward_pooled(const Pass& pass, MaxPool2D& pool, const float* x, float* bn_out, float* y) {
  if (pass.training)
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
}

void BatchNorm::backward(const Pass& pass, const float* x, const float*, float* dy, float* dx) {
  pass.backend.bn_relu_backward(geometry(pass.n), x, dy, values_[0], values_[1], save_mean_.data(),
                                save_inv_std_.data(), dx, grads_[0], grads_[1]);
}

}  // namespace hdr

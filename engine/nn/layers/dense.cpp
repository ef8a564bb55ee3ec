// Dense: one row-major GEMM forward, two backward (weights and data), bias as a separate op
// (the gemm() contract carries none), optional in-place ReLU.
#include "engine/core/errors.h"
#include "engine/nn/layers/layers.h"

namespace hdr {

Dense::Dense(const LayerSpec& spec, Shape in, bool relu)
    : Layer(spec.name, in, Shape{spec.units, 1, 1}), spec_(spec), relu_(relu) {
  if (in.h != 1 || in.w != 1)
    throw InputError(fmt::format("[layer.{}] a dense layer needs a flat input, got {}: add a flatten layer before it",
                                 spec.name, in.str()));
}

std::vector<ParamInfo> Dense::params() const {
  const int in = input_shape().c, out = spec_.units;
  const ParamInit init = spec_.init == Initializer::kHeNormal ? ParamInit::kHeNormal : ParamInit::kGlorotUniform;
  return {
      ParamInfo{"kernel", {in, out}, true, init, in, out, spec_.l2},
      ParamInfo{"bias", {out}, true, ParamInit::kZeros, 0, 0, 0.0f},
  };
}

void Dense::forward(const Pass& pass, const float* x, float* y) {
  const int in = input_shape().c, out = spec_.units;
  pass.backend.gemm(false, false, pass.n, out, in, 1.0f, x, values_[0], 0.0f, y);
  pass.backend.bias_add(pass.n, out, values_[1], y);
  if (relu_) pass.backend.relu_forward(int64_t(pass.n) * out, y, y);
}

void Dense::backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) {
  const int in = input_shape().c, out = spec_.units;
  if (relu_) pass.backend.relu_backward(int64_t(pass.n) * out, y, dy, dy);
  pass.backend.gemm(true, false, in, out, pass.n, 1.0f, x, dy, 0.0f, grads_[0]);  // dW = x^T dy
  pass.backend.bias_grad(pass.n, out, dy, grads_[1]);
  if (dx) pass.backend.gemm(false, true, pass.n, in, out, 1.0f, dy, values_[0], 0.0f, dx);  // dx = dy W^T
}

}  // namespace hdr

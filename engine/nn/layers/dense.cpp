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
  pass.backend.gemm({.m = pass.n, .n = out, .k = in, .a = x, .b = values_[0], .c = y});
  pass.backend.bias_add({.rows = pass.n, .cols = out, .bias = values_[1], .y = y});
  if (relu_) pass.backend.relu_forward({.count = int64_t(pass.n) * out, .x = y, .y = y});
}

void Dense::backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) {
  const int in = input_shape().c, out = spec_.units;
  if (relu_) pass.backend.relu_backward({.count = int64_t(pass.n) * out, .y = y, .dy = dy, .dx = dy});
  pass.backend.gemm({.trans_a = true, .m = in, .n = out, .k = pass.n, .a = x, .b = dy, .c = grads_[0]});  // dW = x^T dy
  pass.backend.bias_grad({.rows = pass.n, .cols = out, .dy = dy, .db = grads_[1]});
  if (dx)  // dx = dy W^T
    pass.backend.gemm({.trans_b = true, .m = pass.n, .n = in, .k = out, .a = dy, .b = values_[0], .c = dx});
}

}  // namespace hdr

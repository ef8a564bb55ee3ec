// Conv2D: cross-correlation through the backend (oneDNN / cuDNN), optional ReLU applied in
// place on the output when no batch norm follows to fuse it.
#include "engine/core/errors.h"
#include "engine/nn/layers/layers.h"

namespace hdr {

Conv2D::Conv2D(const LayerSpec& spec, Shape in, bool relu)
    : Layer(spec.name, in, output_for(spec, in)), spec_(spec), relu_(relu) {}

Shape Conv2D::output_for(const LayerSpec& spec, Shape in) {
  ConvGeometry g = geometry_for(spec, in, 1);
  if (g.out_h() < 1 || g.out_w() < 1)
    throw InputError(fmt::format("[layer.{}] a {}x{} kernel does not fit the {}x{} input", spec.name, spec.kernel,
                                 spec.kernel, in.h, in.w));
  return Shape{spec.filters, g.out_h(), g.out_w()};
}

ConvGeometry Conv2D::geometry_for(const LayerSpec& spec, Shape in, int n) {
  ConvGeometry g;
  g.n = n;
  g.c = in.c;
  g.h = in.h;
  g.w = in.w;
  g.k = spec.filters;
  g.kh = g.kw = spec.kernel;
  g.stride = spec.stride;
  g.pad_h = g.pad_w = spec.same_padding ? (spec.kernel - 1) / 2 : 0;
  return g;
}

std::vector<ParamInfo> Conv2D::params() const {
  const Shape in = input_shape();
  const int k = spec_.filters, r = spec_.kernel;
  const ParamInit init = spec_.init == Initializer::kHeNormal ? ParamInit::kHeNormal : ParamInit::kGlorotUniform;
  return {
      ParamInfo{"kernel", {k, in.c, r, r}, true, init, in.c * r * r, k * r * r, spec_.l2},
      ParamInfo{"bias", {k}, true, ParamInit::kZeros, 0, 0, 0.0f},
  };
}

int64_t Conv2D::forward_flops() const {
  const Shape in = input_shape(), out = output_shape();
  return 2 * int64_t(out.c) * in.c * spec_.kernel * spec_.kernel * out.h * out.w;
}

double Conv2D::performed_flops(const Backend& backend, int n, bool training, bool input_gradient) const {
  const ConvGeometry g = geometry_for(spec_, input_shape(), n);
  double flops = 0;
  for (const Op pass : {Op::conv_forward, Op::conv_backward_weights, Op::conv_backward_data}) {
    if ((!training && pass != Op::conv_forward) || (!input_gradient && pass == Op::conv_backward_data)) continue;
    const double multiply_adds = backend.conv_multiply_adds(pass, g);
    flops += multiply_adds > 0 ? 2 * multiply_adds / n : double(forward_flops());
  }
  return flops;
}

void Conv2D::prepare(Backend& backend, int n, bool training, bool input_grad) const {
  backend.prepare_convolution(geometry_for(spec_, input_shape(), n), ConvUse{true, training, training && input_grad});
}

ConvForwardArgs Conv2D::forward_args(int n, const float* x, float* y) const {
  return {.g = geometry_for(spec_, input_shape(), n), .x = x, .w = values_[0], .bias = values_[1], .y = y};
}

void Conv2D::forward(const Pass& pass, const float* x, float* y) {
  pass.backend.conv_forward(forward_args(pass.n, x, y));
  if (relu_) pass.backend.relu_forward({.count = int64_t(pass.n) * output_shape().size(), .x = y, .y = y});
}

ConvBackwardWeightsArgs Conv2D::weight_grad_args(int n, const float* x, const float* dy) const {
  return {.g = geometry_for(spec_, input_shape(), n), .x = x, .dy = dy, .dw = grads_[0], .dbias = grads_[1]};
}

void Conv2D::backward(const Pass& pass, const float* x, const float* y, float* dy, float* dx) {
  const ConvGeometry g = geometry_for(spec_, input_shape(), pass.n);
  if (relu_) pass.backend.relu_backward({.count = int64_t(pass.n) * output_shape().size(), .y = y, .dy = dy, .dx = dy});
  pass.backend.conv_backward_weights(weight_grad_args(pass.n, x, dy));
  if (dx) pass.backend.conv_backward_data({.g = g, .w = values_[0], .dy = dy, .dx = dx});
}

}  // namespace hdr

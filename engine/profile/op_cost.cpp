#include "engine/profile/op_cost.h"

#include <fmt/format.h>

namespace hdr::op_cost {
namespace {

constexpr double kF = sizeof(float);

double values(const ConvGeometry& g, bool output) {
  return output ? double(g.n) * g.k * g.out_h() * g.out_w() : double(g.n) * g.c * g.h * g.w;
}
double weights(const ConvGeometry& g) { return double(g.k) * g.c * g.kh * g.kw; }
double multiply_adds(const ConvGeometry& g) { return values(g, true) * g.c * g.kh * g.kw; }
double values(const BatchNormGeometry& g) { return double(g.n) * g.c * g.spatial; }
double pooled(const PoolGeometry& p) { return double(p.n) * p.c * p.out_h() * p.out_w(); }

}  // namespace

OpCost gemm(int m, int n, int k, float beta) {
  const double c = double(m) * n;
  return {2.0 * c * k, kF * (double(m) * k + double(k) * n + c * (beta != 0.0f ? 2 : 1))};
}

OpCost conv_forward(const ConvGeometry& g, bool bias, double performed) {
  return {2.0 * (performed > 0 ? performed : multiply_adds(g)) + (bias ? values(g, true) : 0),
          kF * (values(g, false) + weights(g) + values(g, true))};
}

OpCost conv_backward_data(const ConvGeometry& g, double performed) {
  return {2.0 * (performed > 0 ? performed : multiply_adds(g)), kF * (weights(g) + values(g, true) + values(g, false))};
}

OpCost conv_backward_weights(const ConvGeometry& g, bool bias, double performed) {
  return {2.0 * (performed > 0 ? performed : multiply_adds(g)) + (bias ? values(g, true) : 0),
          kF * (values(g, false) + values(g, true) + weights(g))};
}

// Per output value: the affine source position (4), four bilinear weights and taps (8),
// scaling (2), rounded to 16.
OpCost augment(int n, int h, int w) {
  const double out = double(n) * h * w;
  return {16.0 * out, out * (1 + kF) + 4.0 * n};  // uint8 pixels in, floats out, the rows
}

OpCost gather_labels(int n) { return {0, 4.0 * n + 2.0 * n}; }

// Statistics (sum and sum of squares: 2), normalise (multiply-add: 2), ReLU (1).
OpCost bn_relu_forward_train(const BatchNormGeometry& g) { return {5.0 * values(g), kF * 2 * values(g)}; }
OpCost bn_relu_forward_infer(const BatchNormGeometry& g) { return {3.0 * values(g), kF * 2 * values(g)}; }
// ReLU mask (1), the two gradient sums (4), the input gradient (5).
OpCost bn_relu_backward(const BatchNormGeometry& g) { return {10.0 * values(g), kF * 3 * values(g)}; }
// a + b * (u - mean) added (3); x and dx in, dx out.
OpCost bn_input_grad_adjust(const BatchNormGeometry& g) { return {3.0 * values(g), kF * 3 * values(g)}; }
// Per channel: about 8 operations, two doubles and up to 5 floats in or out.
OpCost bn_sync(const BatchNormGeometry& g) { return {8.0 * g.c, (16.0 + 5 * kF) * g.c}; }

OpCost bn_relu_maxpool_forward(const BatchNormGeometry& g, const PoolGeometry& p, bool training) {
  const OpCost bn = training ? bn_relu_forward_train(g) : bn_relu_forward_infer(g);
  return {bn.flops + values(g), kF * values(g) + 2 * kF * pooled(p)};  // x in; y and argmax out
}

OpCost bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p) {
  return {bn_relu_backward(g).flops, kF * 2 * values(g) + 2 * kF * pooled(p)};  // x, dx; dy, argmax
}

// Both ops' work; the gradient between them is not traffic of the op: the image, x, dy, argmax
// and dw.
OpCost conv_bn_relu_maxpool_backward(const ConvGeometry& conv, const BatchNormGeometry& g, const PoolGeometry& p) {
  return {bn_relu_backward(g).flops + conv_backward_weights(conv, true).flops,
          kF * (values(conv, false) + values(g) + weights(conv)) + 2 * kF * pooled(p)};
}

// Both ops' work; the convolution's output between them is not traffic of the op: the image,
// the weights, y and argmax.
OpCost conv_bn_relu_maxpool_forward_infer(const ConvGeometry& conv, bool bias, double performed,
                                          const BatchNormGeometry& g, const PoolGeometry& p) {
  return {conv_forward(conv, bias, performed).flops + bn_relu_maxpool_forward(g, p, false).flops,
          kF * (values(conv, false) + weights(conv)) + 2 * kF * pooled(p)};
}

OpCost relu_forward(int64_t count) { return {double(count), kF * 2 * double(count)}; }
OpCost relu_backward(int64_t count) { return {double(count), kF * 3 * double(count)}; }
OpCost bias_add(int rows, int cols) { return {double(rows) * cols, kF * 2 * double(rows) * cols}; }
OpCost bias_grad(int rows, int cols) { return {double(rows) * cols, kF * double(rows) * cols}; }
OpCost dropout(int64_t count) { return {double(count), (kF * 2 + 1.0 / 8) * double(count)}; }  // + a keep bit
OpCost flatten(int64_t count) { return {0, kF * 2 * double(count)}; }

OpCost maxpool_forward(const PoolGeometry& p) {
  const double in = double(p.n) * p.c * p.h * p.w;
  return {pooled(p) * p.size * p.size, kF * in + 2 * kF * pooled(p)};
}
OpCost maxpool_backward(const PoolGeometry& p) { return {0, kF * double(p.n) * p.c * p.h * p.w + 2 * kF * pooled(p)}; }

// Max, exp, sum, log and the gradient per logit.
OpCost softmax_xent(int n, int classes) { return {5.0 * n * classes, kF * 2 * n * classes + n}; }
OpCost softmax(int n, int classes) { return {4.0 * n * classes, kF * 2 * n * classes}; }
OpCost evaluate_batch(int n, int classes) { return {2.0 * n * classes, kF * n * classes + n}; }

// Adam/AdamW per parameter: two moment updates (3 + 4), bias corrections, square root,
// division and the step (5); reads w, g, m, v and writes w, m, v. SGD with momentum: 4 FLOP;
// reads w, g, velocity and writes w, velocity.
OpCost optimizer_update(OptimizerKind kind, int64_t params) {
  const double p = double(params);
  if (kind == OptimizerKind::kSgd) return {4.0 * p, kF * 5 * p};
  return {12.0 * p, kF * 7 * p};
}

OpCost weight_average(int64_t count) { return {3.0 * double(count), kF * 3 * double(count)}; }

}  // namespace hdr::op_cost

namespace hdr {

std::string shape_text(const ConvGeometry& g) {
  return fmt::format("{}x{}x{}x{} * {}x{}x{}x{} s{} p{}", g.n, g.c, g.h, g.w, g.k, g.c, g.kh, g.kw, g.stride, g.pad_h);
}
std::string shape_text(const BatchNormGeometry& g) { return fmt::format("{}x{}x{}", g.n, g.c, g.spatial); }
std::string shape_text(const ActivationShape& s) { return fmt::format("{}x{}x{}", s.n, s.c, s.spatial); }
std::string shape_text(const PoolGeometry& g) {
  return fmt::format("{}x{}x{}x{} pool {}/{}", g.n, g.c, g.h, g.w, g.size, g.stride);
}

}  // namespace hdr

// The work of one call of each backend op, by the op's own formula: floating-point operations
// (a multiply-add is 2) and the bytes it must move, each tensor it reads or writes counted once
// (compulsory traffic: what a roofline compares with memory bandwidth, so achieved GB/s is an
// effective rate). Per-channel vectors (gamma, beta, statistics) and other O(channels) extras
// are left out. Elementwise FLOP counts are per value as the kernels compute them, rounded to
// whole operations; they only decide which roof an op is under, never a timing.
#pragma once

#include <cstdint>
#include <string>

#include "engine/backends/backend_args.h"
#include "kernels/types.h"

namespace hdr {

struct OpCost {
  double flops = 0, bytes = 0;
  double intensity() const { return bytes > 0 ? flops / bytes : 0; }  // FLOP per byte
};

namespace op_cost {

OpCost gemm(int m, int n, int k, float beta);
// multiply_adds: what the backend performs where it runs a pass by a fast algorithm
// (Backend::conv_multiply_adds); 0 counts the direct sum's.
OpCost conv_forward(const ConvGeometry& g, bool bias, double multiply_adds = 0);
OpCost conv_backward_data(const ConvGeometry& g, double multiply_adds = 0);
OpCost conv_backward_weights(const ConvGeometry& g, bool bias, double multiply_adds = 0);
OpCost augment(int n, int h, int w);
OpCost gather_labels(int n);
OpCost bn_relu_forward_train(const BatchNormGeometry& g);
OpCost bn_relu_forward_infer(const BatchNormGeometry& g);
OpCost bn_relu_backward(const BatchNormGeometry& g);
OpCost bn_input_grad_adjust(const BatchNormGeometry& g);
OpCost bn_sync(const BatchNormGeometry& g);  // each per-channel step of synchronised batch norm
OpCost bn_relu_maxpool_forward(const BatchNormGeometry& g, const PoolGeometry& p, bool training);
OpCost bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p);
OpCost conv_bn_relu_maxpool_backward(const ConvGeometry& conv, const BatchNormGeometry& g, const PoolGeometry& p);
OpCost conv_bn_relu_maxpool_forward_infer(const ConvGeometry& conv, bool bias, double performed,
                                          const BatchNormGeometry& g, const PoolGeometry& p);
OpCost relu_forward(int64_t count);
OpCost relu_backward(int64_t count);
OpCost bias_add(int rows, int cols);
OpCost bias_grad(int rows, int cols);
OpCost dropout(int64_t count);  // forward or backward: the values and their keep bits
OpCost flatten(int64_t count);  // forward or backward
OpCost maxpool_forward(const PoolGeometry& g);
OpCost maxpool_backward(const PoolGeometry& g);
OpCost softmax_xent(int n, int classes);
OpCost softmax(int n, int classes);
OpCost evaluate_batch(int n, int classes);
OpCost optimizer_update(OptimizerKind kind, int64_t params);
OpCost weight_average(int64_t count);

}  // namespace op_cost

// Readable shapes for profiles: "64x1x28x28 * 32x1x3x3 s1 p0", "64x32x26x26", "m64 n128 k1600".
std::string shape_text(const ConvGeometry& g);
std::string shape_text(const BatchNormGeometry& g);
std::string shape_text(const PoolGeometry& g);
std::string shape_text(const ActivationShape& s);  // "64x32x169"

}  // namespace hdr

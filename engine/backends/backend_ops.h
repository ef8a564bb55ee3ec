// The one list of backend ops. Everything per op is generated from it: the enum Op and
// op_name() (the name in profiles, `hdr bench` JSON and NVTX ranges), Backend's public op and
// the protected virtual each backend implements (engine/backends/backend.h), the profiler's
// timing, cost and shape text of every op (engine/profile/profiling_backend.cpp), and the test
// that every op is timed (tests/unit/backend_ops_test.cpp). Adding an op: a line here, its
// argument struct (engine/backends/backend_args.h), its kernels, and each backend's do_<op>.
//
// HDR_BACKEND_OPS(X) calls X(name, Args, cost, shape) once per op:
//   name   the op's name: method, enumerator and profile name at once (profiles and old bench
//          JSON key on it: never rename one);
//   Args   its argument struct, passed as `const Args& a`;
//   cost   an expression of `a` and of `backend`, the backend that runs it: its OpCost per call
//          (engine/profile/op_cost.h);
//   shape  an expression of `a`: the shape text of its profile row.
// cost and shape are only compiled where the profiler expands them (engine/profile may name
// what this library may not include).
#pragma once

#include "engine/backends/backend_args.h"

#define HDR_BACKEND_OPS(X)                                                                                             \
  X(gemm, GemmArgs, op_cost::gemm(a.m, a.n, a.k, a.beta),                                                              \
    fmt::format("m{} n{} k{}{}{}", a.m, a.n, a.k, a.trans_a ? " A'" : "", a.trans_b ? " B'" : ""))                     \
  X(conv_forward, ConvForwardArgs,                                                                                     \
    op_cost::conv_forward(a.g, a.bias != nullptr, backend.conv_multiply_adds(Op::conv_forward, a.g)), shape_text(a.g)) \
  X(conv_backward_data, ConvBackwardDataArgs,                                                                          \
    op_cost::conv_backward_data(a.g, backend.conv_multiply_adds(Op::conv_backward_data, a.g)), shape_text(a.g))        \
  X(conv_backward_weights, ConvBackwardWeightsArgs,                                                                    \
    op_cost::conv_backward_weights(a.g, a.dbias != nullptr,                                                            \
                                   backend.conv_multiply_adds(Op::conv_backward_weights, a.g)),                        \
    shape_text(a.g))                                                                                                   \
  X(augment, AugmentArgs, op_cost::augment(a.n, a.h, a.w), fmt::format("{}x1x{}x{}", a.n, a.h, a.w))                   \
  X(gather_labels, GatherLabelsArgs, op_cost::gather_labels(a.n), fmt::format("{}", a.n))                              \
  X(bn_relu_forward_train, BnReluForwardTrainArgs, op_cost::bn_relu_forward_train(a.g), shape_text(a.g))               \
  X(bn_relu_forward_infer, BnReluForwardInferArgs, op_cost::bn_relu_forward_infer(a.g), shape_text(a.g))               \
  X(bn_relu_backward, BnReluBackwardArgs, op_cost::bn_relu_backward(a.g), shape_text(a.g))                             \
  X(bn_input_grad_adjust, BnInputGradAdjustArgs, op_cost::bn_input_grad_adjust(a.g), shape_text(a.g))                  \
  X(bn_sync_pack, BnSyncPackArgs, op_cost::bn_sync(a.g), shape_text(a.g))                                              \
  X(bn_sync_combine, BnSyncCombineArgs, op_cost::bn_sync(a.g), shape_text(a.g))                                        \
  X(bn_sync_adjust, BnSyncAdjustArgs, op_cost::bn_sync(a.g), shape_text(a.g))                                          \
  X(bn_relu_maxpool_forward_train, BnReluMaxpoolForwardTrainArgs,                                                      \
    op_cost::bn_relu_maxpool_forward(a.bn, a.pool, true), shape_text(a.pool))                                          \
  X(bn_relu_maxpool_forward_infer, BnReluMaxpoolForwardInferArgs,                                                      \
    op_cost::bn_relu_maxpool_forward(a.bn, a.pool, false), shape_text(a.pool))                                         \
  X(bn_relu_maxpool_backward, BnReluMaxpoolBackwardArgs, op_cost::bn_relu_maxpool_backward(a.bn, a.pool),              \
    shape_text(a.pool))                                                                                                \
  X(conv_bn_relu_maxpool_backward, ConvBnReluMaxpoolBackwardArgs,                                                      \
    op_cost::conv_bn_relu_maxpool_backward(a.conv.g, a.block.bn, a.block.pool),                                        \
    shape_text(a.conv.g) + ", " + shape_text(a.block.pool))                                                            \
  X(conv_bn_relu_maxpool_forward_infer, ConvBnReluMaxpoolForwardInferArgs,                                             \
    op_cost::conv_bn_relu_maxpool_forward_infer(a.conv.g, a.conv.bias != nullptr,                                      \
                                                backend.conv_multiply_adds(Op::conv_forward, a.conv.g), a.block.bn,    \
                                                a.block.pool),                                                         \
    shape_text(a.conv.g) + ", " + shape_text(a.block.pool))                                                            \
  X(relu_forward, ReluForwardArgs, op_cost::relu_forward(a.count), fmt::format("{}", a.count))                         \
  X(relu_backward, ReluBackwardArgs, op_cost::relu_backward(a.count), fmt::format("{}", a.count))                      \
  X(bias_add, BiasAddArgs, op_cost::bias_add(a.rows, a.cols), fmt::format("{}x{}", a.rows, a.cols))                    \
  X(bias_grad, BiasGradArgs, op_cost::bias_grad(a.rows, a.cols), fmt::format("{}x{}", a.rows, a.cols))                 \
  X(dropout_forward, DropoutForwardArgs, op_cost::dropout(a.shape.count()), shape_text(a.shape))                       \
  X(dropout_backward, DropoutBackwardArgs, op_cost::dropout(a.shape.count()), shape_text(a.shape))                     \
  X(flatten_forward, FlattenForwardArgs, op_cost::flatten(a.shape.count()), shape_text(a.shape))                       \
  X(flatten_backward, FlattenBackwardArgs, op_cost::flatten(a.shape.count()), shape_text(a.shape))                     \
  X(maxpool_forward, MaxpoolForwardArgs, op_cost::maxpool_forward(a.g), shape_text(a.g))                               \
  X(maxpool_backward, MaxpoolBackwardArgs, op_cost::maxpool_backward(a.g), shape_text(a.g))                            \
  X(softmax_xent, SoftmaxXentArgs, op_cost::softmax_xent(a.n, a.classes), fmt::format("{}x{}", a.n, a.classes))        \
  X(softmax, SoftmaxArgs, op_cost::softmax(a.n, a.classes), fmt::format("{}x{}", a.n, a.classes))                      \
  X(evaluate_batch, EvaluateBatchArgs, op_cost::evaluate_batch(a.n, a.classes), fmt::format("{}x{}", a.n, a.classes))  \
  X(optimizer_update, OptimizerUpdateArgs, op_cost::optimizer_update(a.p.kind, a.param_count()),                       \
    fmt::format("{} parameters", a.param_count()))                                                                     \
  X(weight_average, WeightAverageArgs, op_cost::weight_average(a.count), fmt::format("{}", a.count))

namespace hdr {

// One enumerator per op, named as the op.
enum class Op : uint8_t {
#define HDR_OP_ENUMERATOR(name, ...) name,
  HDR_BACKEND_OPS(HDR_OP_ENUMERATOR)
#undef HDR_OP_ENUMERATOR
};

inline constexpr Op kAllOps[] = {
#define HDR_OP_ENUMERATOR(name, ...) Op::name,
    HDR_BACKEND_OPS(HDR_OP_ENUMERATOR)
#undef HDR_OP_ENUMERATOR
};

// "bn_relu_forward_train": the op's name in profiles, `hdr bench` JSON and NVTX ranges.
constexpr const char* op_name(Op op) {
  constexpr const char* kNames[] = {
#define HDR_OP_NAME(name, ...) #name,
      HDR_BACKEND_OPS(HDR_OP_NAME)
#undef HDR_OP_NAME
  };
  return kNames[size_t(op)];
}

}  // namespace hdr

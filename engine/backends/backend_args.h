// The arguments of the backend ops (engine/backends/backend_ops.h), one struct per op, built at
// call sites with designated initializers: every pointer is named where it is passed, so that
// swapping two of the eleven pointers of a fused batch-norm op no longer compiles silently.
//
// Activations carry their layout: a backend may keep 4-D activations in a layout of its own
// (the CPU backend: oneDNN's nChw16c or nChw8c by the machine's vector width, kernels/cpu/blocked.h). The
// backend says which it keeps for a shape (Backend::activation_layout); the model asks once,
// when it is built, and the layers pass the answer with every op, so a backend branches on the
// argument instead of re-deriving the layout from (c, spatial) in each op.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/types.h"

namespace hdr {

// How an activation tensor of n x c x spatial values lies in memory.
enum class Layout : uint8_t {
  kNchw,     // plain: (n, c, s) at (n * c + c) * spatial + s
  kNchw8c,   // channel blocks of 8: ((n * C/8 + c/8) * spatial + s) * 8 + c % 8
  kNchw16c,  // channel blocks of 16: ((n * C/16 + c/16) * spatial + s) * 16 + c % 16
};

// n samples of c channels x spatial positions, in `layout`.
struct ActivationShape {
  int n = 0, c = 0;
  int64_t spatial = 1;
  Layout layout = Layout::kNchw;
  int64_t count() const { return int64_t(n) * c * spatial; }
};

// Row-major C (m x n) = alpha * op(A) * op(B) + beta * C, op(A) m x k, op(B) k x n; leading
// dimensions are the natural ones (A: trans_a ? m : k, B: trans_b ? k : n, C: n).
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  const float* b = nullptr;
  float beta = 0.0f;
  float* c = nullptr;
};

// Convolution (cross-correlation, as every framework computes it). Weights k x c x kh x kw,
// bias k (may be null). Backward-weights writes dw and, when dbias is not null, dbias.
struct ConvForwardArgs {
  ConvGeometry g;
  const float* x = nullptr;
  const float* w = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
};
struct ConvBackwardDataArgs {
  ConvGeometry g;
  const float* w = nullptr;
  const float* dy = nullptr;
  float* dx = nullptr;
};
struct ConvBackwardWeightsArgs {
  ConvGeometry g;
  const float* x = nullptr;
  const float* dy = nullptr;
  float* dw = nullptr;
  float* dbias = nullptr;
};

// The hand-written ops below have the meaning of their declarations in kernels/ops.h.
struct AugmentArgs {
  AugmentParams params;
  RandomKey key;
  const uint8_t* images = nullptr;  // dataset rows of h x w
  int h = 0, w = 0;
  const int32_t* indices = nullptr;
  int n = 0;
  float* out = nullptr;  // n x 1 x h x w
};
struct GatherLabelsArgs {
  const uint8_t* labels = nullptr;
  const int32_t* indices = nullptr;
  int n = 0;
  uint8_t* out = nullptr;
};

// Batch norm (+ ReLU as g.activation says) over activations of g's shape in `layout`.
struct BnReluForwardTrainArgs {
  BatchNormGeometry g;
  Layout layout = Layout::kNchw;
  const float* x = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float* running_mean = nullptr;
  float* running_var = nullptr;
  float* save_mean = nullptr;
  float* save_inv_std = nullptr;
  float* y = nullptr;
};
struct BnReluForwardInferArgs {
  BatchNormGeometry g;
  Layout layout = Layout::kNchw;
  const float* x = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  const float* running_mean = nullptr;
  const float* running_var = nullptr;
  float* y = nullptr;
};
struct BnReluBackwardArgs {
  BatchNormGeometry g;
  Layout layout = Layout::kNchw;
  const float* x = nullptr;
  const float* dy = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  const float* save_mean = nullptr;
  const float* save_inv_std = nullptr;
  float* dx = nullptr;
  float* dgamma = nullptr;
  float* dbeta = nullptr;
};
// dx += a[c] + b[c] * (u - mean[c]) (synchronised batch norm, engine/nn/sync_batch_norm.h).
struct BnInputGradAdjustArgs {
  BatchNormGeometry g;
  Layout layout = Layout::kNchw;
  const float* x = nullptr;
  const float* mean = nullptr;
  const float* a = nullptr;
  const float* b = nullptr;
  float* dx = nullptr;
};

// Synchronised batch norm's per-channel steps around the ranks' all-reduce of `sums`, 2 * g.c
// doubles (engine/nn/sync_batch_norm.h; the maths in kernels/bn_relu.cuh, bn_sync_*_channel).
struct BnSyncPackArgs {
  BatchNormGeometry g;  // c and eps
  BnSyncPack kind = BnSyncPack::kStatistics;
  double weight = 0;              // statistics: the rank's values per channel; gradients: its share
  const float* first = nullptr;   // statistics: save_mean; gradients: dbeta
  const float* second = nullptr;  // statistics: save_inv_std; gradients: dgamma
  double* sums = nullptr;
};
struct BnSyncCombineArgs {
  BatchNormGeometry g;  // c, eps, momentum
  double total = 0;     // values per channel over every rank
  const double* sums = nullptr;
  float* running_mean = nullptr;
  float* running_var = nullptr;
  float* save_mean = nullptr;
  float* save_inv_std = nullptr;
  float* batch_var = nullptr;
};
struct BnSyncAdjustArgs {
  BatchNormGeometry g;  // c, and this rank's values per channel, n * spatial
  const double* sums = nullptr;
  const float* gamma = nullptr;
  const float* inv_std = nullptr;
  const float* dbeta = nullptr;
  const float* dgamma = nullptr;
  float* a = nullptr;
  float* b = nullptr;
};

// Batch norm + ReLU then max pooling (seed 000's conv blocks), fused where a backend can: the
// results are exactly those of bn_relu_forward_* then maxpool_forward (and of maxpool_backward
// then bn_relu_backward, from the pooled gradient dy). bn_out / d_bn_out are scratch of the
// batch-norm output's size a backend may use to run the two ops. x_max (pooled size, may be
// null) carries x at each argmax from a training forward to its backward where a backend fuses
// both on the CPU (kernels/cpu/blocked.h), sparing backward a pass over x; the GPU's kernels
// and the parts leave it alone, as they do dropout's keep bits.
struct BnReluMaxpoolForwardTrainArgs {
  BatchNormGeometry bn;
  PoolGeometry pool;
  Layout layout = Layout::kNchw;  // of x and bn_out; y has the pooled shape in the same layout
  const float* x = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float* running_mean = nullptr;
  float* running_var = nullptr;
  float* save_mean = nullptr;
  float* save_inv_std = nullptr;
  float* bn_out = nullptr;
  float* y = nullptr;
  int32_t* argmax = nullptr;
  float* x_max = nullptr;
};
struct BnReluMaxpoolForwardInferArgs {
  BatchNormGeometry bn;
  PoolGeometry pool;
  Layout layout = Layout::kNchw;
  const float* x = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  const float* running_mean = nullptr;
  const float* running_var = nullptr;
  float* bn_out = nullptr;
  float* y = nullptr;
  int32_t* argmax = nullptr;  // null: not written (only a backward reads it)
  float* x_max = nullptr;
};
struct BnReluMaxpoolBackwardArgs {
  BatchNormGeometry bn;
  PoolGeometry pool;
  Layout layout = Layout::kNchw;
  const float* x = nullptr;
  const float* dy = nullptr;  // the pooled gradient
  const int32_t* argmax = nullptr;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  const float* save_mean = nullptr;
  const float* save_inv_std = nullptr;
  float* d_bn_out = nullptr;
  const float* x_max = nullptr;
  float* dx = nullptr;
  float* dgamma = nullptr;
  float* dbeta = nullptr;
};

// Backward through a convolution whose input needs no gradient (the network's first layer) and
// the batch norm + ReLU + max pooling after it: bn_relu_maxpool_backward(block), then
// conv_backward_weights(conv), where conv.x is the network's input and conv.dy is block.dx, the
// gradient between the two. A backend that fuses them computes it on the fly and never writes
// it; one that does not runs the two ops through it.
struct ConvBnReluMaxpoolBackwardArgs {
  BnReluMaxpoolBackwardArgs block;
  ConvBackwardWeightsArgs conv;
};
// The convolution into the block at inference: block.x is conv.y, which a backend running the
// two in one never writes.
struct ConvBnReluMaxpoolForwardInferArgs {
  ConvForwardArgs conv;
  BnReluMaxpoolForwardInferArgs block;
};

struct ReluForwardArgs {
  int64_t count = 0;
  const float* x = nullptr;
  float* y = nullptr;
};
struct ReluBackwardArgs {
  int64_t count = 0;
  const float* y = nullptr;  // the forward output
  const float* dy = nullptr;
  float* dx = nullptr;
};
// y (rows x cols) += bias (cols); db (cols) = column sums of dy.
struct BiasAddArgs {
  int rows = 0, cols = 0;
  const float* bias = nullptr;
  float* y = nullptr;
};
struct BiasGradArgs {
  int rows = 0, cols = 0;
  const float* dy = nullptr;
  float* db = nullptr;
};

// Dropout over `shape`: the logical element index c * spatial + s of sample first_sample + i
// keys the mask, whatever the layout. keep_bits (dropout_keep_bytes(n, c * spatial) bytes, the
// layer's) carries the mask from a forward to the backward with the same arguments where the
// backend records it (the CPU; kernels/ops_list.h says why).
struct DropoutForwardArgs {
  float rate = 0;
  RandomKey key;
  int first_sample = 0;
  ActivationShape shape;
  const float* x = nullptr;
  float* y = nullptr;
  uint8_t* keep_bits = nullptr;
};
struct DropoutBackwardArgs {
  float rate = 0;
  RandomKey key;
  int first_sample = 0;
  ActivationShape shape;
  const uint8_t* keep_bits = nullptr;
  const float* dy = nullptr;
  float* dx = nullptr;
};

// Activations of `shape` to n rows of c * spatial values in NCHW order (and the gradient
// back): a copy where the layout is NCHW, a layout change where it is not.
struct FlattenForwardArgs {
  ActivationShape shape;
  const float* x = nullptr;
  float* y = nullptr;
};
struct FlattenBackwardArgs {
  ActivationShape shape;
  const float* dy = nullptr;
  float* dx = nullptr;
};

struct MaxpoolForwardArgs {
  PoolGeometry g;
  Layout layout = Layout::kNchw;  // of x, y and argmax's indices
  const float* x = nullptr;
  float* y = nullptr;
  int32_t* argmax = nullptr;  // null: not written (only maxpool_backward reads it)
};
struct MaxpoolBackwardArgs {
  PoolGeometry g;
  Layout layout = Layout::kNchw;
  const float* dy = nullptr;
  const int32_t* argmax = nullptr;
  float* dx = nullptr;
};

struct SoftmaxXentArgs {
  int n = 0, classes = 0;
  const float* logits = nullptr;
  const uint8_t* labels = nullptr;
  float smoothing = 0;
  float* dlogits = nullptr;
  double* metrics = nullptr;  // += (summed loss, correct rows)
};
struct SoftmaxArgs {
  int n = 0, classes = 0;
  const float* logits = nullptr;
  float* probs = nullptr;
};
struct EvaluateBatchArgs {
  int n = 0, classes = 0;
  const float* logits = nullptr;
  const uint8_t* labels = nullptr;
  int64_t* confusion = nullptr;
  double* metrics = nullptr;
};

// segments is a host array on every backend (it is layout, not data).
struct OptimizerUpdateArgs {
  OptimizerParams p;
  float lr = 0;
  int64_t step = 0;  // 1-based
  const ParamSegment* segments = nullptr;
  int num_segments = 0;
  float* params = nullptr;
  const float* grads = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  // The length of the flat buffers the segments cover.
  int64_t param_count() const {
    size_t count = 0;
    for (int i = 0; i < num_segments; ++i)
      count = segments[i].offset + segments[i].size > count ? segments[i].offset + segments[i].size : count;
    return int64_t(count);
  }
};
struct WeightAverageArgs {
  int64_t count = 0;
  float decay = 0;
  const float* params = nullptr;
  float* average = nullptr;
};

}  // namespace hdr

// CPU kernels for oneDNN's channel-blocked activation layouts nChw8c and nChw16c: value (n, c, s)
// of a tensor with C channels and S = h * w positions lives at
// ((n * C/B + c/B) * S + s) * B + c%B, for a block width B of 8 or 16. oneDNN's convolutions read
// and write the layout of their vector width (nChw16c on AVX-512, 2.6x faster than plain NCHW
// for cnn_bn; nChw8c on AVX2, where a 16-channel block costs a reorder on each side of every
// convolution: measured in bench/README.md), so the CPU backend keeps 4-D activations whose
// channels fill whole blocks in the layout of the machine, chosen at run time, and runs these
// twins of the NCHW kernels on them: same arguments, same results, B channels per vector.
// Randomness stays keyed by the logical (n, c, h, w) index, so dropout masks match NCHW's, and
// per-channel sums run in the same order whatever B, so both widths give the same bits.
//
// Each op family is a class template on B, instantiated for 8 and 16 in its .cpp.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/types.h"

namespace hdr::cpu::blocked {

// Whether the CPU backend stores a tensor of c channels x spatial positions in blocks of `block`.
inline bool is_blocked(int block, int c, int64_t spatial) { return c % block == 0 && spatial > 1; }

// Layout conversions (n x c x spatial), for the edges: flatten, tests.
template <int kBlock>
struct Reorder {
  static void from_nchw(int n, int c, int64_t spatial, const float* plain, float* blocked);
  static void to_nchw(int n, int c, int64_t spatial, const float* blocked, float* plain);
};

// What the backward of batch norm + ReLU + max pooling reads: BatchNorm::maxpool_backward's
// inputs, for the ops that take its passes apart.
struct PooledBnBackward {
  BatchNormGeometry g;
  PoolGeometry p;
  const float* x = nullptr;
  const float* dy = nullptr;  // the pooled gradient
  const int32_t* argmax = nullptr;
  const float *gamma = nullptr, *beta = nullptr, *save_mean = nullptr, *save_inv_std = nullptr;
  const float* x_max = nullptr;  // the forward's record of x at each argmax, or null (read x)
};

// What the inference forward of batch norm + ReLU + max pooling reads and writes, but x:
// BatchNorm::maxpool_forward_infer's arguments, for the op that makes x tile by tile.
struct PooledBnInfer {
  BatchNormGeometry g;
  PoolGeometry p;
  const float *gamma = nullptr, *beta = nullptr, *running_mean = nullptr, *running_var = nullptr;
  float* y = nullptr;
  int32_t* argmax = nullptr;
};

// Batch norm + ReLU (kernels/ops_list.h's bn_relu_*), and fused with a following max pooling
// with non-overlapping windows only (p.stride == p.size; kernels/conv_block_ops_list.h's
// bn_relu_maxpool_*, argmax as MaxPool's). Where x_max is not null (laid out as y), the pooled
// forwards also record x at each argmax and the backward reads that record instead of
// gathering it from x: pass 1 then reads a quarter of x's bytes. The same bits either way.
template <int kBlock>
struct BatchNorm {
  static void forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                            float* running_mean, float* running_var, float* save_mean, float* save_inv_std, float* y);
  static void forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y);
  static void backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                       const float* beta, const float* save_mean, const float* save_inv_std, float* dx, float* dgamma,
                       float* dbeta);
  static void input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a,
                                const float* b, float* dx);
  static void maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                    const float* gamma, const float* beta, float* running_mean, float* running_var,
                                    float* save_mean, float* save_inv_std, float* y, int32_t* argmax,
                                    float* x_max = nullptr);
  static void maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                    const float* gamma, const float* beta, const float* running_mean,
                                    const float* running_var, float* y, int32_t* argmax, float* x_max = nullptr);
  static void maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x, const float* dy,
                               const int32_t* argmax, const float* gamma, const float* beta, const float* save_mean,
                               const float* save_inv_std, float* dx, float* dgamma, float* dbeta,
                               const float* x_max = nullptr);
  // maxpool_backward's two passes, for an op that uses dx tile by tile without storing it
  // (OneChannelConv::backward_weights_through): the sums (dgamma, dbeta, and per channel the
  // means of dbeta and dgamma that pass 2 takes), then dx of image i's tile of block b
  // (g.spatial x kBlock values, laid out as in dx) from them. Together: maxpool_backward's bits.
  static void maxpool_backward_sums(const PooledBnBackward& in, float* dgamma, float* dbeta, float* mean_dy,
                                    float* mean_dy_xhat);
  static void maxpool_backward_tile(const PooledBnBackward& in, const float* mean_dy, const float* mean_dy_xhat, int i,
                                    int b, float* dx_tile);
  // maxpool_forward_infer of image i's tile of block b alone, from x_tile (g.spatial x kBlock
  // values laid out as in x), for an op that makes x tile by tile without storing it
  // (OneChannelConv::forward_through). Tile by tile: maxpool_forward_infer's bits.
  static void maxpool_forward_infer_tile(const PooledBnInfer& in, int i, int b, const float* x_tile);
};

// argmax holds each value's index within its plane (row * w + col), as the NCHW twin's does.
template <int kBlock>
struct MaxPool {
  static void forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax);
  static void backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx);
};

// Samples of c x spatial values; element (c, s) has the logical index c * spatial + s.
template <int kBlock>
struct Dropout {
  // Backward is cpu::dropout_backward: the keep bits are in memory order, whatever the layout.
  static void forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial, const float* x,
                      float* y, uint8_t* keep_bits);
};

// A stride-1 convolution of a plain one-channel input x (n x 1 x h x w, any padding) whose output
// (y, or its gradient dy) is blocked, k % 16 == 0, kernel width 3 or 5; false, touching
// nothing, for any other geometry. w and dw are oihw; bias and dbias may be null. The CPU
// backend runs kBlock = 8 below AVX-512, and 16 on AVX-512 for forward_through only: there
// oneDNN's kernels are faster at the convolution alone, but the fused inference forward saves
// the traffic of its output (bench infer on AVX-512: 24.5k -> 28.9k images/s at batch 1000).
template <int kBlock>
struct OneChannelConv {
  static bool forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y);
  static bool backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias);
  // backward_weights from the output gradient that batch norm + ReLU + max pooling's backward
  // gives (BatchNorm::maxpool_backward of bn, whose x is this convolution's output), computed
  // tile by tile and never stored: the same dw, dbias, dgamma and dbeta, bit for bit, without
  // the 2 x 5.5 MB of writing that gradient and reading it back in cnn_bn. For a first layer:
  // there is no input gradient. False, touching nothing, where bn does not follow this
  // geometry or backward_weights would refuse it.
  static bool backward_weights_through(const ConvGeometry& g, const float* x, const PooledBnBackward& bn, float* dw,
                                       float* dbias, float* dgamma, float* dbeta);
  // forward into batch norm + ReLU + max pooling's inference forward (BatchNorm::maxpool_forward_infer
  // of bn, whose x is this convolution's output), tile by tile, the convolution's output never
  // stored: the same y and argmax, bit for bit, without writing cnn_bn's 26x26 maps (22 MB per
  // 256 images) and reading them back. False, touching nothing, where bn does not follow this
  // geometry or forward would refuse it.
  static bool forward_through(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                              const PooledBnInfer& bn);
};

// body(std::integral_constant<int, B>{}) for block width B = `block` (8 or 16), so that a caller
// holding the width at run time reaches the class templates above.
template <class Body>
decltype(auto) with_block(int block, Body&& body) {
  if (block == 8) return body(std::integral_constant<int, 8>{});
  if (block == 16) return body(std::integral_constant<int, 16>{});
  throw std::invalid_argument("no blocked CPU kernels for blocks of " + std::to_string(block) + " channels");
}

}  // namespace hdr::cpu::blocked

// CPU kernels for oneDNN's channel-blocked activation layout nChw16c: value (n, c, s) of a
// tensor with C channels and S = h * w positions lives at ((n * C/16 + c/16) * S + s) * 16 + c%16.
// oneDNN's AVX-512 convolutions read and write this layout (2.6x faster than plain NCHW for
// cnn_bn, measured), so the CPU backend keeps 4-D activations with C % 16 == 0 in it and runs
// these twins of the NCHW kernels on them: same arguments, same results, 16 channels per vector.
// Randomness stays keyed by the logical (n, c, h, w) index, so dropout masks match NCHW's.
#pragma once

#include <cstdint>

#include "kernels/types.h"

namespace hdr::cpu::nchw16c {

// Whether the CPU backend stores a tensor of c channels x spatial positions blocked.
inline bool is_blocked(int c, int64_t spatial) { return c % 16 == 0 && spatial > 1; }

// Layout conversions (n x c x spatial), for the edges: flatten, tests.
void from_nchw(int n, int c, int64_t spatial, const float* plain, float* blocked);
void to_nchw(int n, int c, int64_t spatial, const float* blocked, float* plain);

void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           float* running_mean, float* running_var, float* save_mean, float* save_inv_std, float* y);
void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           const float* running_mean, const float* running_var, float* y);
void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                      const float* beta, const float* save_mean, const float* save_inv_std, float* dx, float* dgamma,
                      float* dbeta);
void bn_input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a, const float* b,
                          float* dx);

// Batch norm + ReLU then max pooling in one pass, for non-overlapping windows only
// (p.stride == p.size).
#include "kernels/conv_block_ops_list.h"

// A stride-1 convolution of a plain one-channel input x (n x 1 x h x w, any padding) whose output
// (y, or its gradient dy) is blocked (k % 16 == 0), kernel width 3 or 5; false, touching nothing,
// for any other geometry (forward: square kernels only). w and dw are oihw; bias and dbias may be
// null.
bool conv_forward_one_channel(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y);
bool conv_backward_weights_one_channel(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias);

// argmax holds flat indices into the blocked x.
void maxpool_forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax);
void maxpool_backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx);

// Samples of c x spatial values; element (c, s) has the logical index c * spatial + s.
void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial, const float* x,
                     float* y);
void dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                      const float* dy, float* dx);

}  // namespace hdr::cpu::nchw16c

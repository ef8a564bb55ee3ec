// Plain descriptions of the ops' shapes and parameters, shared by both backends and the
// kernels. Tensors are float NCHW (dense activations are N x C with H = W = 1).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/hd.h"

namespace hdr {

// A 2-D convolution: input n x c x h x w, k filters of c x kh x kw, zero padding, one stride.
struct ConvGeometry {
  int n = 0, c = 0, h = 0, w = 0;
  int k = 0, kh = 0, kw = 0;
  int pad_h = 0, pad_w = 0, stride = 1;
  HDR_HD int out_h() const { return (h + 2 * pad_h - kh) / stride + 1; }
  HDR_HD int out_w() const { return (w + 2 * pad_w - kw) / stride + 1; }
};

// Max pooling over size x size windows with the given stride, no padding (Keras "valid":
// out = floor((h - size) / stride) + 1).
struct PoolGeometry {
  int n = 0, c = 0, h = 0, w = 0;
  int size = 2, stride = 2;
  HDR_HD int out_h() const { return (h - size) / stride + 1; }
  HDR_HD int out_w() const { return (w - size) / stride + 1; }
};

// Where a ReLU sits relative to batch norm: y = relu(bn(x)), y = bn(relu(x)) (the order of
// seed 000's Keras model: Conv2D(activation='relu') then BatchNormalization), or no ReLU.
enum class BnActivation : int { kNone = 0, kReluAfter = 1, kReluBefore = 2 };

// What synchronised batch norm packs per channel for the ranks' all-reduce (kernels/bn_relu.cuh,
// bn_sync_pack_channel): the slice's statistics, or its dbeta and dgamma.
enum class BnSyncPack : int { kStatistics = 0, kGradients = 1 };

// Batch norm over n x c x spatial values: statistics per channel over n and spatial.
// Keras defaults: eps 1e-3, running = momentum * running + (1 - momentum) * batch.
struct BatchNormGeometry {
  int n = 0, c = 0, spatial = 1;
  float eps = 1e-3f, momentum = 0.99f;
  BnActivation activation = BnActivation::kNone;
};

// The key of every random decision: Philox4x32-10 keyed by the run's seed; the counter holds
// (sample index, position inside the sample / 4, epoch, stream). Streams keep uses apart.
struct RandomKey {
  uint64_t seed = 0;
  uint32_t epoch = 0;
  uint32_t stream = 0;  // kStreamAugment, kStreamShuffle, kStreamInit, or kStreamDropout + layer index
};
inline constexpr uint32_t kStreamAugment = 1;
inline constexpr uint32_t kStreamShuffle = 2;
inline constexpr uint32_t kStreamInit = 3;
inline constexpr uint32_t kStreamSplit = 4;
inline constexpr uint32_t kStreamDropout = 1000;  // + layer index

// Random affine augmentation (Keras ImageDataGenerator semantics): rotation uniform in
// +-rotation_deg, shifts uniform in +-shift_x*w / +-shift_y*h pixels, zoom factors for x and y
// drawn independently, uniform in [1 - zoom, 1 + zoom]; bilinear sampling, edge pixels repeated
// outside the image ("nearest" fill). Output = pixel * scale then (v - mean) * inv_std.
struct AugmentParams {
  float rotation_deg = 0, shift_x = 0, shift_y = 0, zoom = 0;
  float scale = 1.0f / 255.0f, mean = 0.0f, inv_std = 1.0f;
  HDR_HD bool identity() const { return rotation_deg == 0 && shift_x == 0 && shift_y == 0 && zoom == 0; }
};

// One optimizer for all parameters. Adam/AdamW use beta1, beta2, eps (Keras defaults);
// SGD uses momentum (and nesterov). weight_decay is the decoupled w -= lr * wd * w (AdamW,
// SGDW) on decay segments; the L2 penalty is per segment (ParamSegment::l2).
enum class OptimizerKind : int { kAdam = 0, kAdamW = 1, kSgd = 2 };
struct OptimizerParams {
  OptimizerKind kind = OptimizerKind::kAdam;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-7f;
  float momentum = 0.9f;
  bool nesterov = false;
  float weight_decay = 0.0f;
};

// A run of parameters in the flat parameter buffer. decay: the decoupled weight decay applies
// (conv and dense kernels: yes; biases and batch-norm scale/shift: no). l2: the layer's Keras
// kernel_regularizer=l2(l2), which adds 2 * l2 * w to the gradient.
struct ParamSegment {
  size_t offset = 0, size = 0;
  bool decay = false;
  float l2 = 0.0f;
};

}  // namespace hdr

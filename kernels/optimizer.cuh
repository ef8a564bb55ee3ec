// Optimizer step of one weight, element math shared by the CUDA kernel and cpu/optimizer.cpp.
//
// Keras formulations (tf.keras / Keras 3), t = step (1-based):
//   gradient   g = grad + 2 * l2 * w                    (the segment's l2: Keras l2(l2) regulariser)
//   decoupled  w = w * (1 - lr * weight_decay)          (on decay segments, before the step: Keras
//                                                        applies weight decay first; AdamW / SGDW)
//   Adam       m = b1 * m + (1 - b1) * g;  v = b2 * v + (1 - b2) * g * g
//              w -= lr_t * m / (sqrt(v) + eps),  lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
//              (bias correction folded into the rate, so eps acts as Keras's "epsilon hat": it is
//               added to sqrt(v), not to sqrt(v_hat); with eps = 1e-7 this is tf.keras Adam)
//   SGD        m = momentum * m - lr * g  (m is the velocity);  w += m
//              nesterov: w += momentum * m - lr * g (with the updated m)
// AdamW is Adam plus the decoupled decay; Adam and SGD apply the decoupled decay too when
// weight_decay > 0 (Keras 3 gives every optimizer a weight_decay argument).
// l2's gradient uses the weight before the decoupled decay.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/types.h"

namespace hdr {

// Constants of one update, computed once per step (on the host, or per thread: it is cheap).
struct OptimizerStep {
  float lr = 0;       // this step's learning rate
  float adam_lr = 0;  // lr * sqrt(1 - beta2^t) / (1 - beta1^t)
  float beta1 = 0, beta2 = 0, eps = 0, momentum = 0;
  bool nesterov = false;
  float decay_factor = 1;  // 1 - lr * weight_decay (decay segments)
};

HDR_HD inline OptimizerStep make_optimizer_step(const OptimizerParams& p, float lr, int64_t step) {
  OptimizerStep s;
  s.lr = lr;
  const double t = double(step);
  s.adam_lr = float(double(lr) * sqrt(1.0 - pow(double(p.beta2), t)) / (1.0 - pow(double(p.beta1), t)));
  s.beta1 = p.beta1;
  s.beta2 = p.beta2;
  s.eps = p.eps;
  s.momentum = p.momentum;
  s.nesterov = p.nesterov;
  s.decay_factor = 1.0f - lr * p.weight_decay;
  return s;
}

// What decay means for one segment: the L2 gradient coefficient 2 * l2 and the decoupled factor
// (0 and 1, exact no-ops, where neither applies).
struct SegmentDecay {
  float l2_grad = 0, decay_factor = 1;
};

HDR_HD inline SegmentDecay segment_decay(const OptimizerStep& s, const ParamSegment& segment) {
  return SegmentDecay{2.0f * segment.l2, segment.decay ? s.decay_factor : 1.0f};
}

// One Adam / AdamW step of weight w with moments m, v.
HDR_HD inline void adam_update(const OptimizerStep& s, SegmentDecay d, float grad, float& w, float& m, float& v) {
  const float g = grad + d.l2_grad * w;
  m = s.beta1 * m + (1.0f - s.beta1) * g;
  v = s.beta2 * v + (1.0f - s.beta2) * g * g;
  w = w * d.decay_factor - s.adam_lr * m / (sqrtf(v) + s.eps);
}

// One SGD (momentum, optionally Nesterov) step of weight w with velocity m.
HDR_HD inline void sgd_update(const OptimizerStep& s, SegmentDecay d, float grad, float& w, float& m) {
  const float g = grad + d.l2_grad * w;
  m = s.momentum * m - s.lr * g;
  const float delta = s.nesterov ? s.momentum * m - s.lr * g : m;
  w = w * d.decay_factor + delta;
}

// One step of the exponential moving average of a weight ([train] ema: Polyak averaging, the
// averaged weights are the ones evaluated and saved): avg = decay * avg + (1 - decay) * w,
// written as a step towards w so that avg stays exactly w once they agree.
HDR_HD inline void weight_average_update(float decay, float w, float& avg) { avg += (1.0f - decay) * (w - avg); }

#if defined(__CUDACC__) || defined(HDR_SIMT_HOST)

// A model's parameters are a few large kernels and many tiny bias / scale vectors, so one launch
// updates up to kOptimizerSegmentsPerLaunch segments, passed by value as a kernel argument
// (64 x 24 B = 1.5 KiB, within the 4 KiB argument limit): no device copy of the segment table and
// one launch for a whole model of up to 64 segments. Every thread walks all segments of its launch
// and grid-strides inside each; the grid covers the largest segment, capped at
// kOptimizerMaxBlocks (about two waves of 256-thread blocks on an H100), beyond which threads
// update several elements. The step constants are computed once on the host (make_optimizer_step,
// as in the CPU twin) and passed by value.
inline constexpr int kOptimizerSegmentsPerLaunch = 64;
inline constexpr int64_t kOptimizerMaxBlocks = 2048;

struct OptimizerSegmentBatch {
  int count = 0;
  ParamSegment segments[kOptimizerSegmentsPerLaunch];
};

// Calls launch(grid, batch) for each run of up to kOptimizerSegmentsPerLaunch consecutive segments
// holding any parameter, with the grid for `block` threads per block: the .cu launcher and the tests
// share this batching.
template <class Launch>
void for_each_optimizer_launch(const ParamSegment* segments, int num_segments, int block, Launch&& launch) {
  for (int first = 0; first < num_segments; first += kOptimizerSegmentsPerLaunch) {
    OptimizerSegmentBatch batch;
    batch.count = num_segments - first < kOptimizerSegmentsPerLaunch ? num_segments - first
                                                                     : kOptimizerSegmentsPerLaunch;
    int64_t largest = 0;
    for (int k = 0; k < batch.count; ++k) {
      batch.segments[k] = segments[first + k];
      largest = int64_t(segments[first + k].size) > largest ? int64_t(segments[first + k].size) : largest;
    }
    if (largest == 0) continue;
    const int64_t blocks = (largest + block - 1) / block;
    launch(dim3(unsigned(blocks < kOptimizerMaxBlocks ? blocks : kOptimizerMaxBlocks)), batch);
  }
}

// sgd: SGD (velocity in m), else Adam / AdamW (moments in m, v).
__global__ void optimizer_update_kernel(OptimizerStep s, bool sgd, OptimizerSegmentBatch batch, float* params,
                                        const float* grads, float* m, float* v) {
  const int64_t start = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int k = 0; k < batch.count; ++k) {
    const SegmentDecay d = segment_decay(s, batch.segments[k]);
    const int64_t begin = int64_t(batch.segments[k].offset), end = begin + int64_t(batch.segments[k].size);
    if (sgd) {
      for (int64_t i = begin + start; i < end; i += stride) sgd_update(s, d, grads[i], params[i], m[i]);
    } else {
      for (int64_t i = begin + start; i < end; i += stride) adam_update(s, d, grads[i], params[i], m[i], v[i]);
    }
  }
}

// The weight average over a flat buffer: one element per thread, grid-stride beyond the grid.
__global__ void weight_average_kernel(int64_t count, float decay, const float* params, float* average) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    weight_average_update(decay, params[i], average[i]);
}

inline dim3 weight_average_grid(int64_t count, int block) {
  const int64_t blocks = (count + block - 1) / block;
  return dim3(unsigned(blocks < kOptimizerMaxBlocks ? blocks : kOptimizerMaxBlocks));
}

#endif  // __CUDACC__ || HDR_SIMT_HOST

}  // namespace hdr

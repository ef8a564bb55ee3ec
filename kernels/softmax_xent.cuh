// Softmax and cross-entropy of one row of logits: the element math shared by the CUDA kernels
// and the CPU twin (kernels/cpu/softmax_xent.cpp). Everything is shifted by the row maximum, so
// exp never sees a positive argument: sum_exp is in [1, classes] and nothing overflows however
// large the logits. The loss is taken as log-sum-exp minus the label's logit, never as the log of
// a probability (which underflows to log 0 for confident wrong answers).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

namespace hdr {

// Index of the row's maximum, the first one on ties (the prediction; also the stable shift).
HDR_HD inline int row_argmax(const float* row, int classes) {
  int best = 0;
  for (int k = 1; k < classes; ++k)
    if (row[k] > row[best]) best = k;
  return best;
}

// sum_k exp(row[k] - max), with max the row's maximum.
HDR_HD inline float row_sum_exp(const float* row, int classes, float max) {
  float sum = 0.0f;
  for (int k = 0; k < classes; ++k) sum += std::exp(row[k] - max);
  return sum;
}

// -log softmax[label] = (max - logit_label) + log(sum_exp); the difference first keeps it exact
// for large logits.
HDR_HD inline float xent_loss(float logit_label, float max, float sum_exp) {
  return (max - logit_label) + std::log(sum_exp);
}

HDR_HD inline float softmax_prob(float logit, float max, float inv_sum_exp) {
  return std::exp(logit - max) * inv_sum_exp;
}

// Label smoothing s: the target of class k is q_k = (1 - s) * [k == label] + s / classes (with
// s = 0 exactly the one-hot 1 and 0).
HDR_HD inline float smoothed_target(bool is_label, float smoothing, int classes) {
  return (is_label ? 1.0f - smoothing : 0.0f) + smoothing / float(classes);
}

// -sum_k q_k log softmax_k = sum_k q_k (max - logit_k) + log(sum_exp), as sum_k q_k = 1; with
// s = 0 exactly xent_loss.
HDR_HD inline float smoothed_xent_loss(const float* row, int classes, int label, float max, float sum_exp,
                                       float smoothing) {
  if (smoothing == 0.0f) return xent_loss(row[label], max, sum_exp);
  float spread = 0.0f;  // sum_k (max - logit_k)
  for (int k = 0; k < classes; ++k) spread += max - row[k];
  return (1.0f - smoothing) * (max - row[label]) + smoothing / float(classes) * spread + std::log(sum_exp);
}

// d(mean loss over n rows) / d logit: (softmax - q) / n.
HDR_HD inline float xent_grad(float logit, float max, float inv_sum_exp, float target, float inv_n) {
  return (softmax_prob(logit, max, inv_sum_exp) - target) * inv_n;
}

#if defined(__CUDACC__) || defined(HDR_SIMT_HOST)

// The kernels (nvcc, or the host compiler against kernels/simt_host.h in tests): one thread per
// row. Rows are 10 logits, so a thread runs the very row functions of the CPU twin (row_argmax,
// row_sum_exp, ...) in the same order: dlogits and probs are deterministic, with no cross-thread
// arithmetic at all; a warp per row would leave 22 of 32 lanes idle and sum in a different order.
// Metrics: each warp sums its rows' loss and correct count in double (shuffles), and lane 0 adds
// them to metrics with one atomicAdd on double each (sm_60+). Which warp adds first varies from
// run to run on a GPU, so the loss sum may differ in its last bits; metrics only. Confusion
// counts: one atomicAdd per row on the int64_t cell as unsigned long long (the only 64-bit
// integer atomicAdd CUDA has; two's complement makes +1 the same operation).
inline dim3 softmax_rows_grid(int n, int block) { return dim3(unsigned((int64_t(n) + block - 1) / block)); }

// Adds this warp's (loss, correct) to metrics[0..1]. Every thread of the block must call it, with
// zeros for rows past n; row: the thread's row, so that warps wholly past n add nothing.
__device__ inline void xent_add_metrics(double loss, double correct, int64_t row, int n, double* metrics) {
  const unsigned lane = threadIdx.x % 32u, left = blockDim.x - threadIdx.x / 32u * 32u;
  const unsigned width = left < 32u ? left : 32u;  // lanes of this warp: a block's last may be partial
  const unsigned mask = width == 32u ? 0xffffffffu : (1u << width) - 1u;
  for (unsigned offset = 16; offset > 0; offset /= 2) {
    const double other_loss = __shfl_down_sync(mask, loss, offset);
    const double other_correct = __shfl_down_sync(mask, correct, offset);
    if (lane + offset < width) {
      loss += other_loss;
      correct += other_correct;
    }
  }
  if (lane == 0 && row < n) {
    atomicAdd(metrics, loss);
    atomicAdd(metrics + 1, correct);
  }
}

__global__ void softmax_xent_kernel(int n, int classes, const float* logits, const uint8_t* labels, float smoothing,
                                    float* dlogits, double* metrics) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  double loss = 0.0, correct = 0.0;
  if (r < n) {
    const float* row = logits + r * classes;
    float* grad = dlogits + r * classes;
    const int label = labels[r];
    const int top = row_argmax(row, classes);
    const float max = row[top];
    const float sum_exp = row_sum_exp(row, classes, max);
    loss = smoothed_xent_loss(row, classes, label, max, sum_exp, smoothing);
    correct = top == label ? 1.0 : 0.0;
    const float inv_sum_exp = 1.0f / sum_exp, inv_n = 1.0f / float(n);
    for (int k = 0; k < classes; ++k)
      grad[k] = xent_grad(row[k], max, inv_sum_exp, smoothed_target(k == label, smoothing, classes), inv_n);
  }
  xent_add_metrics(loss, correct, r, n, metrics);
}

__global__ void softmax_kernel(int n, int classes, const float* logits, float* probs) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n) return;
  const float* row = logits + r * classes;
  float* out = probs + r * classes;
  const float max = row[row_argmax(row, classes)];
  const float inv_sum_exp = 1.0f / row_sum_exp(row, classes, max);
  for (int k = 0; k < classes; ++k) out[k] = softmax_prob(row[k], max, inv_sum_exp);
}

__global__ void evaluate_batch_kernel(int n, int classes, const float* logits, const uint8_t* labels,
                                      int64_t* confusion, double* metrics) {
  static_assert(sizeof(int64_t) == sizeof(unsigned long long));
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  double loss = 0.0, correct = 0.0;
  if (r < n) {
    const float* row = logits + r * classes;
    const int label = labels[r];
    const int top = row_argmax(row, classes);
    const float max = row[top];
    loss = xent_loss(row[label], max, row_sum_exp(row, classes, max));
    correct = top == label ? 1.0 : 0.0;
    atomicAdd(reinterpret_cast<unsigned long long*>(confusion) + (int64_t(label) * classes + top), 1ull);
  }
  xent_add_metrics(loss, correct, r, n, metrics);
}

#endif  // __CUDACC__ || HDR_SIMT_HOST

}  // namespace hdr

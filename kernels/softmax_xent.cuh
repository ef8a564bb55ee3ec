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

// d(mean loss over n rows) / d logit: (softmax - onehot(label)) / n.
HDR_HD inline float xent_grad(float logit, float max, float inv_sum_exp, bool is_label, float inv_n) {
  return (softmax_prob(logit, max, inv_sum_exp) - (is_label ? 1.0f : 0.0f)) * inv_n;
}

}  // namespace hdr

// CPU twin of kernels/softmax_xent.cuh: softmax, cross-entropy and the evaluation counts, one
// OpenMP iteration per row. Rows are short (10 classes), so small batches stay on the calling
// thread: forking a team costs more than a few thousand logits. Loss and correct counts are
// reduced per thread and added to metrics once; confusion counts are atomic increments.
#include "kernels/softmax_xent.cuh"

#include "kernels/ops.h"

namespace hdr::cpu {
namespace {

// Below this many logits a batch is handled by one thread.
constexpr int64_t kMinParallelLogits = int64_t(1) << 14;

bool worth_parallel(int n, int classes) { return int64_t(n) * classes >= kMinParallelLogits; }

}  // namespace

void softmax_xent(int n, int classes, const float* logits, const uint8_t* labels, float smoothing, float* dlogits,
                  double* metrics) {
  const float inv_n = 1.0f / float(n);
  double loss = 0.0;
  int64_t correct = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss, correct) if (worth_parallel(n, classes))
  for (int r = 0; r < n; ++r) {
    const float* row = logits + int64_t(r) * classes;
    float* grad = dlogits + int64_t(r) * classes;
    const int label = labels[r];
    const int top = row_argmax(row, classes);
    const float max = row[top];
    const float sum_exp = row_sum_exp(row, classes, max);
    loss += smoothed_xent_loss(row, classes, label, max, sum_exp, smoothing);
    correct += top == label;
    const float inv_sum_exp = 1.0f / sum_exp;
#pragma omp simd
    for (int k = 0; k < classes; ++k)
      grad[k] = xent_grad(row[k], max, inv_sum_exp, smoothed_target(k == label, smoothing, classes), inv_n);
  }
  metrics[0] += loss;
  metrics[1] += double(correct);
}

void softmax(int n, int classes, const float* logits, float* probs) {
#pragma omp parallel for schedule(static) if (worth_parallel(n, classes))
  for (int r = 0; r < n; ++r) {
    const float* row = logits + int64_t(r) * classes;
    float* out = probs + int64_t(r) * classes;
    const float max = row[row_argmax(row, classes)];
    const float inv_sum_exp = 1.0f / row_sum_exp(row, classes, max);
#pragma omp simd
    for (int k = 0; k < classes; ++k) out[k] = softmax_prob(row[k], max, inv_sum_exp);
  }
}

void evaluate_batch(int n, int classes, const float* logits, const uint8_t* labels, int64_t* confusion,
                    double* metrics) {
  double loss = 0.0;
  int64_t correct = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss, correct) if (worth_parallel(n, classes))
  for (int r = 0; r < n; ++r) {
    const float* row = logits + int64_t(r) * classes;
    const int label = labels[r];
    const int top = row_argmax(row, classes);
    const float max = row[top];
    loss += xent_loss(row[label], max, row_sum_exp(row, classes, max));
    correct += top == label;
#pragma omp atomic
    confusion[int64_t(label) * classes + top] += 1;
  }
  metrics[0] += loss;
  metrics[1] += double(correct);
}

}  // namespace hdr::cpu

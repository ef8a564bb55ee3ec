// CUDA launchers of kernels/softmax_xent.cuh: one thread per row (rows are 10 logits), metrics
// and confusion counts added with device atomics. Geometry helpers live in the .cuh.
#include "kernels/cuda_check.h"
#include "kernels/ops.h"
#include "kernels/softmax_xent.cuh"

namespace hdr::cuda {
namespace {
constexpr int kBlock = 128;
}  // namespace

void softmax_xent(int n, int classes, const float* logits, const uint8_t* labels, float smoothing, float* dlogits,
                  double* metrics) {
  if (n == 0) return;
  softmax_xent_kernel<<<softmax_rows_grid(n, kBlock), kBlock, 0, stream()>>>(n, classes, logits, labels, smoothing,
                                                                             dlogits, metrics);
  HDR_CUDA_CHECK_LAUNCH(softmax_xent_kernel);
}

void softmax(int n, int classes, const float* logits, float* probs) {
  if (n == 0) return;
  softmax_kernel<<<softmax_rows_grid(n, kBlock), kBlock, 0, stream()>>>(n, classes, logits, probs);
  HDR_CUDA_CHECK_LAUNCH(softmax_kernel);
}

void evaluate_batch(int n, int classes, const float* logits, const uint8_t* labels, int64_t* confusion,
                    double* metrics) {
  if (n == 0) return;
  evaluate_batch_kernel<<<softmax_rows_grid(n, kBlock), kBlock, 0, stream()>>>(n, classes, logits, labels, confusion,
                                                                               metrics);
  HDR_CUDA_CHECK_LAUNCH(evaluate_batch_kernel);
}

}  // namespace hdr::cuda

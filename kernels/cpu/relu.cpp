// CPU twin of kernels/relu.cuh, plus the dense-layer bias add / bias gradient.
#include "kernels/relu.cuh"

#include "kernels/ops.h"

namespace hdr::cpu {

void relu_forward(int64_t count, const float* x, float* y) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) y[i] = relu(x[i]);
}

void relu_backward(int64_t count, const float* y, const float* dy, float* dx) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) dx[i] = relu_grad(y[i], dy[i]);
}

void bias_add(int rows, int cols, const float* bias, float* y) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    float* row = y + int64_t(r) * cols;
#pragma omp simd
    for (int c = 0; c < cols; ++c) row[c] += bias[c];
  }
}

void bias_grad(int rows, int cols, const float* dy, float* db) {
#pragma omp parallel for schedule(static)
  for (int c = 0; c < cols; ++c) {
    float sum = 0.0f;
    for (int r = 0; r < rows; ++r) sum += dy[int64_t(r) * cols + c];
    db[c] = sum;
  }
}

}  // namespace hdr::cpu

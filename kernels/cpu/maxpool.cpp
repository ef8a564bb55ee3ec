// CPU twin of kernels/maxpool.cuh: max pooling over NCHW planes, one OpenMP iteration per
// (n, c) plane. Forward calls maxpool_window per output, exactly as a CUDA thread would: its
// best value and index stay in registers and its scan is branch-free. (Vectorising across an
// output row instead kept the best values in y and argmax, and with rows of 13 or 5 outputs
// never filled a vector: measured 2-5x slower.) Backward zeroes a plane of dx and scatters dy
// into it: overlapping windows (stride < size) add into the same dx value, and since argmax
// indexes its own plane, one thread per plane makes the += race-free.
#include "kernels/maxpool.cuh"

#include "kernels/ops.h"

namespace hdr::cpu {

void maxpool_forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax) {
  const int out_h = g.out_h(), out_w = g.out_w();
  const int64_t in_plane = int64_t(g.h) * g.w, out_plane = int64_t(out_h) * out_w;
  const int64_t planes = int64_t(g.n) * g.c;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    float* y_plane = y + p * out_plane;
    for (int r = 0; r < out_h; ++r)
      for (int q = 0; q < out_w; ++q) {
        int32_t where = 0;
        y_plane[r * out_w + q] = maxpool_window(x, p * in_plane, g.w, r * g.stride, q * g.stride, g.size, where);
        if (argmax) argmax[p * out_plane + r * out_w + q] = where;
      }
  }
}

void maxpool_backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx) {
  const int64_t in_plane = int64_t(g.h) * g.w, out_plane = int64_t(g.out_h()) * g.out_w();
  const int64_t planes = int64_t(g.n) * g.c;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    float* dx_plane = dx + p * in_plane;
#pragma omp simd
    for (int64_t k = 0; k < in_plane; ++k) dx_plane[k] = 0.0f;
    const float* dy_plane = dy + p * out_plane;
    const int32_t* where = argmax + p * out_plane;
    for (int64_t k = 0; k < out_plane; ++k) dx_plane[where[k]] += dy_plane[k];
  }
}

}  // namespace hdr::cpu

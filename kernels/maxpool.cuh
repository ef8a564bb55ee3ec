// Max pooling (no padding, Keras "valid"): the element math shared by the CUDA kernels and the
// CPU twin (kernels/cpu/maxpool.cpp). Ties go to the first maximum in row-major order inside
// the window: windows are scanned row by row, left to right, and a value replaces the best so
// far only when strictly greater. argmax holds each maximum's index within its own (n, c) plane
// of h x w values (row * w + col, in any layout): it stays below 2^31 however large the batch,
// where a flat index into x wrapped past 2^31 values (about 99k images of 32x26x26) and backward
// then matched nothing.
#pragma once

#include <cstdint>

#include "kernels/hd.h"
#include "kernels/types.h"

namespace hdr {

// One step of the scan: keep the first of equal maxima. Selects, not a branch: on random data
// the comparison is a coin flip, and a mispredicted branch costs more than the whole step.
// F, I: float and int32_t, or vectors of lanes of them (kernels/cpu/lanes.h).
template <class F, class I>
HDR_HD inline void maxpool_take(F value, I index, F& best, I& best_index) {
  const auto greater = value > best;
  best = greater ? value : best;
  best_index = greater ? index : best_index;
}

// The same, carrying a value of the maximum's along (the CPU's fused batch norm: its input).
template <class F, class I>
HDR_HD inline void maxpool_take(F value, I index, F carried, F& best, I& best_index, F& best_carried) {
  const auto greater = value > best;
  best = greater ? value : best;
  best_index = greater ? index : best_index;
  best_carried = greater ? carried : best_carried;
}

// One output: the size x size window whose top-left corner is (row0, col0) of a plane of width
// w that starts at flat index plane_base of x. Returns the maximum, its index in the plane in
// argmax.
HDR_HD inline float maxpool_window(const float* x, int64_t plane_base, int w, int row0, int col0, int size,
                                   int32_t& argmax) {
  const float* plane = x + plane_base;
  float best = plane[row0 * w + col0];
  argmax = row0 * w + col0;
  for (int i = 0; i < size; ++i) {
    const int row = (row0 + i) * w + col0;
    for (int j = 0; j < size; ++j) maxpool_take(plane[row + j], row + j, best, argmax);
  }
  return best;
}

#if defined(__CUDACC__) || defined(HDR_SIMT_HOST)

// The kernels (nvcc, or the host compiler against kernels/simt_host.h in tests), one thread per
// value over a flat 1-D grid; threads past the end of the last block do nothing.
//   Forward: one thread per output, maxpool_window as in the CPU twin.
//   Backward: one thread per INPUT value, gathering dy from every output whose window covers it
//   and whose argmax is it, in increasing output order (the order in which the CPU twin scatters
//   them), so dx is the same bit for bit, every input is written (zero where no window took it)
//   and overlapping windows (stride < size) need neither atomics nor a zeroing pass.
HDR_HD inline int64_t maxpool_out_count(const PoolGeometry& g) { return int64_t(g.n) * g.c * g.out_h() * g.out_w(); }
HDR_HD inline int64_t maxpool_in_count(const PoolGeometry& g) { return int64_t(g.n) * g.c * g.h * g.w; }
inline dim3 maxpool_grid(int64_t count, int block) { return dim3(unsigned((count + block - 1) / block)); }
inline dim3 maxpool_forward_grid(const PoolGeometry& g, int block) { return maxpool_grid(maxpool_out_count(g), block); }
inline dim3 maxpool_backward_grid(const PoolGeometry& g, int block) { return maxpool_grid(maxpool_in_count(g), block); }

__global__ void maxpool_forward_kernel(PoolGeometry g, const float* x, float* y, int32_t* argmax) {
  const int out_w = g.out_w();
  const int64_t out_plane = int64_t(g.out_h()) * out_w;
  const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= maxpool_out_count(g)) return;
  const int64_t plane = o / out_plane;
  const int r = int((o - plane * out_plane) / out_w), q = int((o - plane * out_plane) % out_w);
  int32_t where = 0;
  y[o] = maxpool_window(x, plane * g.h * g.w, g.w, r * g.stride, q * g.stride, g.size, where);
  if (argmax) argmax[o] = where;
}

// The gradient input k (flat, in x's layout) receives: dy of every output whose window covers
// it and whose argmax is it, summed in increasing output order.
__device__ inline float maxpool_gather(const PoolGeometry& g, const float* dy, const int32_t* argmax, int64_t k) {
  const int out_h = g.out_h(), out_w = g.out_w();
  const int64_t in_plane = int64_t(g.h) * g.w;
  const int64_t plane = k / in_plane;
  const int row = int((k - plane * in_plane) / g.w), col = int((k - plane * in_plane) % g.w);
  // Windows r cover rows [r * stride, r * stride + size): r from ceil((row - size + 1) / stride).
  const int r_first = row >= g.size ? (row - g.size) / g.stride + 1 : 0;
  const int q_first = col >= g.size ? (col - g.size) / g.stride + 1 : 0;
  const int r_last = row / g.stride < out_h - 1 ? row / g.stride : out_h - 1;
  const int q_last = col / g.stride < out_w - 1 ? col / g.stride : out_w - 1;
  const int64_t out_base = plane * out_h * out_w;
  float sum = 0.0f;
  for (int r = r_first; r <= r_last; ++r)
    for (int q = q_first; q <= q_last; ++q) {
      const int64_t o = out_base + int64_t(r) * out_w + q;
      if (argmax[o] == row * g.w + col) sum += dy[o];
    }
  return sum;
}

__global__ void maxpool_backward_kernel(PoolGeometry g, const float* dy, const int32_t* argmax, float* dx) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= maxpool_in_count(g)) return;
  dx[k] = maxpool_gather(g, dy, argmax, k);
}

#endif  // __CUDACC__ || HDR_SIMT_HOST

}  // namespace hdr

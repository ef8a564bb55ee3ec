// Max pooling on blocked tensors (see blocked.h) with maxpool.cuh's tie rule (first maximum in
// row-major window order): each output position takes the max of its window's kBlock-channel
// vectors, lane by lane, so the whole window scan is vector selects. argmax holds each lane's
// index within its plane (row * w + col, as in NCHW); backward scatters within the same
// (n, block) tile, one thread per tile.
#include "kernels/cpu/blocked.h"
#include "kernels/maxpool.cuh"

namespace hdr::cpu::blocked {

template <int kLanes>
void MaxPool<kLanes>::forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax) {
  const int blocks = g.c / kLanes, out_h = g.out_h(), out_w = g.out_w();
  const int64_t in_tile = int64_t(g.h) * g.w * kLanes, out_tile = int64_t(out_h) * out_w * kLanes;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < g.n; ++i)
    for (int b = 0; b < blocks; ++b) {
      const int64_t in_base = (int64_t(i) * blocks + b) * in_tile;
      const int64_t out_base = (int64_t(i) * blocks + b) * out_tile;
      for (int r = 0; r < out_h; ++r)
        for (int q = 0; q < out_w; ++q) {
          float best[kLanes];
          int32_t where[kLanes];
          const int32_t first = r * g.stride * g.w + q * g.stride;  // in the plane
#pragma omp simd
          for (int l = 0; l < kLanes; ++l) {
            best[l] = x[in_base + int64_t(first) * kLanes + l];
            where[l] = first;
          }
          for (int di = 0; di < g.size; ++di)
            for (int dj = 0; dj < g.size; ++dj) {
              const int32_t at = (r * g.stride + di) * g.w + q * g.stride + dj;
#pragma omp simd
              for (int l = 0; l < kLanes; ++l)
                maxpool_take(x[in_base + int64_t(at) * kLanes + l], at, best[l], where[l]);
            }
          const int64_t o = out_base + (int64_t(r) * out_w + q) * kLanes;
#pragma omp simd
          for (int l = 0; l < kLanes; ++l) y[o + l] = best[l];
          if (argmax) {
#pragma omp simd
            for (int l = 0; l < kLanes; ++l) argmax[o + l] = where[l];
          }
        }
    }
}

template <int kLanes>
void MaxPool<kLanes>::backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx) {
  const int blocks = g.c / kLanes;
  const int64_t in_tile = int64_t(g.h) * g.w * kLanes, out_tile = int64_t(g.out_h()) * g.out_w() * kLanes;
#pragma omp parallel for collapse(2) schedule(static)
  for (int i = 0; i < g.n; ++i)
    for (int b = 0; b < blocks; ++b) {
      const int64_t tile = int64_t(i) * blocks + b;
      float* dx_tile = dx + tile * in_tile;
#pragma omp simd
      for (int64_t k = 0; k < in_tile; ++k) dx_tile[k] = 0.0f;
      const int64_t out_base = tile * out_tile;
      for (int64_t k = 0; k < out_tile; ++k)
        dx_tile[int64_t(argmax[out_base + k]) * kLanes + k % kLanes] += dy[out_base + k];
    }
}

template struct MaxPool<8>;
template struct MaxPool<16>;

}  // namespace hdr::cpu::blocked

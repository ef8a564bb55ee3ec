// Batch norm + ReLU then max pooling (seed 000's conv blocks) fused on the GPU: the batch-norm
// output is never stored. Forward: each thread of one pooled output computes its window's
// batch-norm values on the fly and keeps the maximum, with the ties and argmax (an index within
// the plane) of maxpool_window; the statistics come first, from the bn_relu_stats_* kernels.
// Backward: the two batch-norm passes read dy of value k as maxpool_gather gives it (the pooled
// gradient of every window whose argmax is k), instead of an unpooled gradient buffer. The
// element math is the unfused kernels' own, so every result equals theirs bit for bit: one
// write and one read of the block's full-size output saved forward, a write and two reads
// backward.
#pragma once

#include "kernels/bn_relu.cuh"
#include "kernels/maxpool.cuh"

namespace hdr {

#if defined(__CUDACC__) || defined(HDR_SIMT_HOST)

// dy of value k, gathered through the pooling (the fused backward's dy source, kernels/bn_relu.cuh).
struct PooledDy {
  PoolGeometry pool;
  const float* dy;
  const int32_t* argmax;
  __device__ float operator()(int64_t k) const { return maxpool_gather(pool, dy, argmax, k); }
};

// One thread per pooled output (maxpool_forward_grid), batch norm from `stats`.
template <class Stats>
__device__ void bn_relu_maxpool_values(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                       const Stats& stats, float* y, int32_t* argmax) {
  const int out_w = p.out_w();
  const int64_t out_plane = int64_t(p.out_h()) * out_w;
  const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= maxpool_out_count(p)) return;
  const int64_t plane = o / out_plane;  // image * channels + channel
  float mean, scale, beta;
  stats.channel(int(plane % g.c), mean, scale, beta);
  const int row0 = int((o - plane * out_plane) / out_w) * p.stride,
            col0 = int((o - plane * out_plane) % out_w) * p.stride;
  const float* in = x + plane * p.h * p.w;
  float best = bn_relu_value(in[row0 * p.w + col0], mean, scale, beta, g.activation);
  int32_t where = row0 * p.w + col0;
  for (int i = 0; i < p.size; ++i) {
    const int row = (row0 + i) * p.w + col0;
    for (int j = 0; j < p.size; ++j)
      maxpool_take(bn_relu_value(in[row + j], mean, scale, beta, g.activation), row + j, best, where);
  }
  y[o] = best;
  if (argmax) argmax[o] = where;
}

__global__ void bn_relu_maxpool_apply_kernel(BatchNormGeometry g, PoolGeometry p, const float* x, const float* gamma,
                                             const float* beta, const float* save_mean, const float* save_inv_std,
                                             float* y, int32_t* argmax) {
  bn_relu_maxpool_values(g, p, x, BatchStats{gamma, beta, save_mean, save_inv_std}, y, argmax);
}

// running_inv_std: bn_running_inv_std_kernel's (kernels/bn_relu.cuh).
__global__ void bn_relu_maxpool_infer_kernel(BatchNormGeometry g, PoolGeometry p, const float* x, const float* gamma,
                                             const float* beta, const float* running_mean, const float* running_inv_std,
                                             float* y, int32_t* argmax) {
  bn_relu_maxpool_values(g, p, x, BatchStats{gamma, beta, running_mean, running_inv_std}, y, argmax);
}

__global__ void bn_relu_maxpool_grad_partial_kernel(BatchNormGeometry g, int parts, PoolGeometry p, const float* x,
                                                    const float* dy, const int32_t* argmax, const float* gamma,
                                                    const float* beta, const float* save_mean,
                                                    const float* save_inv_std, double* partials) {
  bn_partial_sums(g, parts, GradTerm<PooledDy>{g, x, PooledDy{p, dy, argmax}, gamma, beta, save_mean, save_inv_std},
                  partials);
}

__global__ void bn_relu_maxpool_input_grad_kernel(BatchNormGeometry g, PoolGeometry p, const float* x, const float* dy,
                                                  const int32_t* argmax, const float* gamma, const float* beta,
                                                  const float* save_mean, const float* save_inv_std,
                                                  const float* dgamma, const float* dbeta, float* dx) {
  bn_input_grad_values(g, x, PooledDy{p, dy, argmax}, gamma, beta, save_mean, save_inv_std, dgamma, dbeta, dx);
}

#endif  // __CUDACC__ || HDR_SIMT_HOST

}  // namespace hdr

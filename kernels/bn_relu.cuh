// Batch norm fused with ReLU: the element math shared by the CUDA kernels and the CPU twin
// (kernels/cpu/bn_relu.cpp). Per channel, over its m = n * spatial values, with u = relu(x) for
// kReluBefore and u = x otherwise:
//   forward   y = act((u - mean) * scale + beta), scale = gamma * inv_std,
//             inv_std = 1 / sqrt(var_biased + eps), act = relu for kReluAfter, identity otherwise.
//             Subtracting the mean first (not folding it into a shift beta - mean * scale) keeps
//             y accurate to a few ulps even when |mean| >> std.
//   backward  dy_eff = dy where y > 0 (kReluAfter), xhat = (u - mean) * inv_std,
//             dbeta = sum(dy_eff), dgamma = sum(dy_eff * xhat),
//             du = scale * (dy_eff - dbeta / m - xhat * dgamma / m)  (the usual BN backward
//             inv_std/m * (m*dxhat - sum dxhat - xhat * sum dxhat*xhat) with dxhat = gamma*dy_eff),
//             dx = du where x > 0 (kReluBefore).
// Backward recomputes u, the masks and xhat from x and the saved (mean, inv_std): nothing else
// is stored. The kReluAfter mask goes through bn_relu_value, the forward's own expression, so
// forward and backward agree on which values were clipped.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/types.h"

namespace hdr {

// The element functions below are templates on the value type F: float on the GPU and in the
// plain CPU loops, a GCC vector of channel lanes in the blocked CPU kernels (kernels/cpu/lanes.h),
// where comparisons and ?: work lane by lane; one expression, the same bits either way.
// max(x, 0), as relu() of kernels/relu.cuh; that header is not included because its kernels
// would then be compiled into conv_block.cu and every test that includes this file, a second
// definition of each next to relu.cu's.
template <class F>
HDR_HD inline F bn_clip(F x) {
  return x > 0.0f ? x : 0.0f;
}

// u: the value batch norm sees.
template <class F>
HDR_HD inline F bn_input(F x, BnActivation act) {
  return act == BnActivation::kReluBefore ? bn_clip(x) : x;
}

// 1 / sqrt(var + eps), taken in double so that tiny variances keep their digits.
HDR_HD inline float bn_inv_std(double var_biased, float eps) {
  return static_cast<float>(1.0 / std::sqrt(var_biased + static_cast<double>(eps)));
}

HDR_HD inline float bn_scale(float gamma, float inv_std) { return gamma * inv_std; }

// y of one value.
template <class F>
HDR_HD inline F bn_relu_value(F x, F mean, F scale, F beta, BnActivation act) {
  const F z = (bn_input(x, act) - mean) * scale + beta;
  return act == BnActivation::kReluAfter ? bn_clip(z) : z;
}

// Running statistics (Keras): running = momentum * running + (1 - momentum) * batch. The
// variance fed in is the unbiased one, var * m / (m - 1); a single value (m = 1) keeps var.
HDR_HD inline double bn_unbiased_var(double var_biased, int64_t m) {
  return m > 1 ? var_biased * static_cast<double>(m) / static_cast<double>(m - 1) : var_biased;
}
HDR_HD inline float bn_running_update(float running, double batch, float momentum) {
  return static_cast<float>(momentum * static_cast<double>(running) + (1.0 - momentum) * batch);
}

// The end of a channel's training statistics, from the sums of d = u - pivot over its m values
// (pivot: one of the channel's u, so the sums do not cancel when |mean| >> std): saves the mean
// and inv_std and updates the running statistics.
HDR_HD inline void bn_finish_stats(float pivot, double sum, double sum_sq, int64_t m, float eps, float momentum,
                                   float& running_mean, float& running_var, float& save_mean, float& save_inv_std) {
  const double shifted_mean = sum / static_cast<double>(m);
  const double biased = sum_sq / static_cast<double>(m) - shifted_mean * shifted_mean;
  const double var = biased < 0.0 ? 0.0 : biased;  // rounding can take it just below zero
  const double mean = static_cast<double>(pivot) + shifted_mean;
  save_mean = static_cast<float>(mean);
  save_inv_std = bn_inv_std(var, eps);
  running_mean = bn_running_update(running_mean, mean, momentum);
  running_var = bn_running_update(running_var, bn_unbiased_var(var, m), momentum);
}

// Synchronised batch norm (engine/nn/sync_batch_norm.h) on the device: per channel, each rank packs
// two doubles, the ranks' all-reduce sums them, and every rank derives the same result from the
// sums. Rank r holds m_r values per channel; over all of them, M = sum m_r.
//   kStatistics  pack (m_r * mean_r, m_r * (var_r + mean_r^2)), var_r = 1 / inv_std_r^2 - eps:
//                the global mean is S0 / M and the global biased variance S1 / M - mean^2, in
//                double (values of order 1 lose nothing to the difference at 1e-16).
//   kGradients   pack (w_r * dbeta_r, w_r * dgamma_r), w_r = n_r / N, the rank's share of the
//                batch: the global batch's sums A and B in the units of each rank's loss.
HDR_HD inline void bn_sync_pack_channel(BnSyncPack kind, double weight, float eps, float first, float second,
                                        double& sum0, double& sum1) {
  if (kind == BnSyncPack::kGradients) {
    sum0 = weight * static_cast<double>(first);
    sum1 = weight * static_cast<double>(second);
    return;
  }
  const double mean = first, inv_std = second;
  const double var = 1.0 / (inv_std * inv_std) - static_cast<double>(eps);
  sum0 = weight * mean;
  sum1 = weight * ((var < 0.0 ? 0.0 : var) + mean * mean);
}

// The global statistics from the summed kStatistics pack: the mean and 1/std the backward pass
// uses (1/std from the float variance, as the inference op derives it from batch_var, the
// variance it is handed), and the running statistics updated as by one process.
HDR_HD inline void bn_sync_combine_channel(double sum0, double sum1, double total, float eps, float momentum,
                                           float& running_mean, float& running_var, float& save_mean,
                                           float& save_inv_std, float& batch_var) {
  const double mean = sum0 / total, biased = sum1 / total - mean * mean;
  const double var = biased < 0.0 ? 0.0 : biased;
  save_mean = static_cast<float>(mean);
  batch_var = static_cast<float>(var);
  save_inv_std = bn_inv_std(batch_var, eps);
  running_mean = bn_running_update(running_mean, mean, momentum);
  running_var = bn_running_update(running_var, bn_unbiased_var(var, static_cast<int64_t>(total)), momentum);
}

// The rank's backward pass gave dx = scale * (dy - dbeta_r / m - xhat * dgamma_r / m) from its m
// values; the global batch's is scale * (dy - A / m - xhat * B / m) (A, B: the summed kGradients
// pack). With xhat = (u - mean) * inv_std the difference is a + b * (u - mean), with
//   a = scale * (dbeta_r - A) / m,  b = scale * inv_std * (dgamma_r - B) / m.
HDR_HD inline void bn_sync_adjust_channel(double sum0, double sum1, double m, float gamma, float inv_std, float dbeta,
                                          float dgamma, float& a, float& b) {
  const double scale = bn_scale(gamma, inv_std);
  a = static_cast<float>(scale * (static_cast<double>(dbeta) - sum0) / m);
  b = static_cast<float>(scale * inv_std * (static_cast<double>(dgamma) - sum1) / m);
}

// dy seen by batch norm: zero where the ReLU after it clipped.
template <class F>
HDR_HD inline F bn_effective_dy(F x, F dy, F mean, F scale, F beta, BnActivation act) {
  return act == BnActivation::kReluAfter && !(bn_relu_value(x, mean, scale, beta, act) > 0.0f) ? 0.0f : dy;
}

template <class F>
HDR_HD inline F bn_xhat(F x, F mean, F inv_std, BnActivation act) {
  return (bn_input(x, act) - mean) * inv_std;
}

// dx of one value, from the channel means of dy_eff (dbeta / m) and dy_eff * xhat (dgamma / m).
template <class F>
HDR_HD inline F bn_relu_input_grad(F x, F dy_eff, F xhat, F scale, F mean_dy, F mean_dy_xhat, BnActivation act) {
  const F du = scale * (dy_eff - mean_dy - xhat * mean_dy_xhat);
  return act == BnActivation::kReluBefore && !(x > 0.0f) ? 0.0f : du;
}

// Synchronised batch norm (engine/nn/sync_batch_norm.h): a rank's backward takes the channel means of
// its own slice; the global ones change dx by a + b * (u - mean) per channel (zero where a ReLU
// before batch norm clipped x). Centred on the mean, the two terms do not cancel when
// |mean| >> std.
template <class F>
HDR_HD inline F bn_input_grad_adjustment(F x, F mean, F a, F b, BnActivation act) {
  return act == BnActivation::kReluBefore && !(x > 0.0f) ? 0.0f : a + b * (bn_input(x, act) - mean);
}

// The partition of the per-channel sums (training statistics, backward dgamma/dbeta): channel
// c's m = n * spatial values, in bn_channel_index order, go to `parts` contiguous slices, one
// block each (a grid of parts x c), so that 32 to 128 channels still fill a 132-SM GPU. The
// partition depends on the geometry alone, never on the GPU, so a geometry gives the same bits
// on every run and every device.
inline constexpr int64_t kBnMinSlice = 2048;     // values per block at least: each block's partial write stays cheap
inline constexpr int64_t kBnTargetBlocks = 512;  // about 4 blocks per SM on a 132-SM GPU

HDR_HD inline int64_t bn_channel_count(const BatchNormGeometry& g) { return int64_t(g.n) * g.spatial; }
HDR_HD inline int bn_parts(const BatchNormGeometry& g) {
  const int64_t by_size = (bn_channel_count(g) + kBnMinSlice - 1) / kBnMinSlice;
  const int64_t to_fill = g.c > 0 ? (kBnTargetBlocks + g.c - 1) / g.c : 1;
  const int64_t parts = by_size < to_fill ? by_size : to_fill;
  return parts > 1 ? int(parts) : 1;
}
HDR_HD inline int64_t bn_slice(const BatchNormGeometry& g, int parts) {
  return (bn_channel_count(g) + parts - 1) / parts;
}
// The partial sums scratch holds: two doubles per block.
HDR_HD inline int64_t bn_partials_count(const BatchNormGeometry& g, int parts) { return 2 * int64_t(g.c) * parts; }

#if defined(__CUDACC__) || defined(HDR_SIMT_HOST)

// The kernels (nvcc, or the host compiler against kernels/simt_host.h in tests).
//   Training forward: bn_relu_stats_partial_kernel, one block per (slice, channel), sums its
//   slice of d = u - pivot and d^2 in double (each thread a strided partial, then warp shuffles,
//   then one shared slot per warp) into the scratch; bn_relu_stats_finish_kernel, one thread
//   per channel, adds the channel's partials in slice order and writes save_mean/save_inv_std
//   and the running statistics; bn_relu_apply_kernel then writes y, element-wise.
//   Backward: bn_relu_grad_partial_kernel (the same reduction, of dy_eff and dy_eff * xhat) and
//   bn_relu_grad_finish_kernel write dbeta/dgamma, then bn_relu_input_grad_kernel writes dx
//   element-wise, taking the channel means from dbeta / m and dgamma / m. Inference:
//   bn_relu_infer_kernel, element-wise.
// Each sum has a fixed assignment of values to blocks and threads and a fixed tree, so for a
// given block size every result is the same on every run, whatever order the blocks run in;
// there are no atomics. The element-wise kernels are grid-stride loops (any grid is correct;
// the launchers give one thread per value); the reduction kernels take any block size up to
// CUDA's 1024 threads (32 warps: the shared arrays).

inline constexpr int kBnReluMaxWarps = 32;

inline dim3 bn_partial_grid(const BatchNormGeometry& g, int parts) { return dim3{unsigned(parts), unsigned(g.c)}; }
// One thread per channel for the finishing kernels.
inline dim3 bn_channel_grid(int c, int block) { return dim3{unsigned((c + block - 1) / block)}; }
inline dim3 bn_finish_grid(const BatchNormGeometry& g, int block) { return bn_channel_grid(g.c, block); }
HDR_HD inline int64_t bn_relu_count(const BatchNormGeometry& g) { return int64_t(g.n) * g.c * g.spatial; }
// One thread per value for the element-wise kernels.
inline dim3 bn_relu_element_grid(const BatchNormGeometry& g, int block) {
  return dim3(unsigned((bn_relu_count(g) + block - 1) / block));
}

// Sum of v over the first `width` lanes of the warp (fewer than 32 in a block's last, partial
// warp), valid in lane 0. All `width` lanes must call it together.
__device__ inline double bn_warp_sum(double v, unsigned lane, unsigned width) {
  const unsigned mask = width == 32u ? 0xffffffffu : (1u << width) - 1u;
  for (unsigned offset = 16; offset > 0; offset /= 2) {
    const double other = __shfl_down_sync(mask, v, offset);
    if (lane + offset < width) v += other;
  }
  return v;
}

// Sums a and b over the block (blockDim.x <= 32 * kBnReluMaxWarps, blockDim.y = z = 1), through
// one shared slot per warp; the totals are valid in thread 0. Every thread must call it.
__device__ inline void bn_block_sum(double& a, double& b, double* warp_a, double* warp_b) {
  const unsigned lane = threadIdx.x % 32u, warp = threadIdx.x / 32u;
  const unsigned left = blockDim.x - warp * 32u;
  a = bn_warp_sum(a, lane, left < 32u ? left : 32u);
  b = bn_warp_sum(b, lane, left < 32u ? left : 32u);
  if (lane == 0) {
    warp_a[warp] = a;
    warp_b[warp] = b;
  }
  __syncthreads();
  if (warp != 0) return;
  const unsigned warps = (blockDim.x + 31u) / 32u, width = blockDim.x < 32u ? blockDim.x : 32u;
  a = bn_warp_sum(lane < warps ? warp_a[lane] : 0.0, lane, width);
  b = bn_warp_sum(lane < warps ? warp_b[lane] : 0.0, lane, width);
}

// Index of value j (0 <= j < m) of channel c.
__device__ inline int64_t bn_channel_index(const BatchNormGeometry& g, int c, int64_t j) {
  const int64_t i = j / g.spatial;
  return (i * g.c + c) * g.spatial + (j - i * g.spatial);
}

// Block (slice, channel) of a partial grid: with t = term.channel(c), adds t(k, a, b) over its
// slice's values k and writes the two sums to partials[2 * (c * parts + slice)]. Every thread
// must call it.
template <class Term>
__device__ void bn_partial_sums(const BatchNormGeometry& g, int parts, const Term& term, double* partials) {
  HDR_SHARED(double, warp_a, kBnReluMaxWarps);
  HDR_SHARED(double, warp_b, kBnReluMaxWarps);
  const int c = int(blockIdx.y);
  const int64_t m = bn_channel_count(g), slice = bn_slice(g, parts);
  const int64_t begin = int64_t(blockIdx.x) * slice, end = begin + slice < m ? begin + slice : m;
  const auto t = term.channel(c);
  double a = 0.0, b = 0.0;
  for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) t(bn_channel_index(g, c, j), a, b);
  bn_block_sum(a, b, warp_a, warp_b);
  if (threadIdx.x == 0) {
    const int64_t at = 2 * (int64_t(c) * parts + blockIdx.x);
    partials[at] = a;
    partials[at + 1] = b;
  }
}

// Channel c's totals: its partials added in slice order.
__device__ inline void bn_total(const double* partials, int c, int parts, double& a, double& b) {
  a = 0.0, b = 0.0;
  for (int p = 0; p < parts; ++p) {
    a += partials[2 * (int64_t(c) * parts + p)];
    b += partials[2 * (int64_t(c) * parts + p) + 1];
  }
}

// The statistics' term: d = u - pivot and d^2, pivot being the channel's first u.
struct StatsTerm {
  BatchNormGeometry g;
  const float* x;
  struct Channel {
    const BatchNormGeometry& g;
    const float* x;
    float pivot;
    __device__ void operator()(int64_t k, double& sum, double& sum_sq) const {
      const double d = double(bn_input(x[k], g.activation)) - pivot;
      sum += d;
      sum_sq += d * d;
    }
  };
  __device__ float pivot(int c) const { return bn_input(x[bn_channel_index(g, c, 0)], g.activation); }
  __device__ Channel channel(int c) const { return Channel{g, x, pivot(c)}; }
};

__global__ void bn_relu_stats_partial_kernel(BatchNormGeometry g, int parts, const float* x, double* partials) {
  bn_partial_sums(g, parts, StatsTerm{g, x}, partials);
}

__global__ void bn_relu_stats_finish_kernel(BatchNormGeometry g, int parts, const float* x, const double* partials,
                                            float* running_mean, float* running_var, float* save_mean,
                                            float* save_inv_std) {
  const int c = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (c >= g.c) return;
  double sum, sum_sq;
  bn_total(partials, c, parts, sum, sum_sq);
  bn_finish_stats(StatsTerm{g, x}.pivot(c), sum, sum_sq, bn_channel_count(g), g.eps, g.momentum, running_mean[c],
                  running_var[c], save_mean[c], save_inv_std[c]);
}

// Where a kernel takes channel c's batch-norm parameters from: a mean and 1/std per channel, the
// batch's (a training forward) or the running ones' (inference, 1/std from
// bn_running_inv_std_kernel).
struct BatchStats {
  const float *gamma, *beta, *mean, *inv_std;
  __device__ void channel(int c, float& m, float& scale, float& b) const {
    m = mean[c], scale = bn_scale(gamma[c], inv_std[c]), b = beta[c];
  }
};

// Inference's 1/std per channel from the running variance (bn_inv_std, in double), once per
// channel into the ops' scratch, so that no element-wise pass does FP64 work per value (sm_75
// and sm_86/89 run FP64 at 1/32 to 1/64 of the FP32 rate). Same values as per value before.
__global__ void bn_running_inv_std_kernel(BatchNormGeometry g, const float* running_var, float* inv_std) {
  const int c = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (c < g.c) inv_std[c] = bn_inv_std(running_var[c], g.eps);
}

// Where a backward kernel takes dy of value k from: the tensor itself (PlainDy), or gathered
// through a max pooling (kernels/bn_relu_maxpool.cuh), so the fused conv block needs no
// unpooled gradient buffer.
struct PlainDy {
  const float* dy;
  __device__ float operator()(int64_t k) const { return dy[k]; }
};

// y = bn_relu_value(x) element-wise, a grid-stride loop.
template <class Stats>
__device__ void bn_apply_values(const BatchNormGeometry& g, const float* x, const Stats& stats, float* y) {
  const int64_t count = bn_relu_count(g), stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < count; k += stride) {
    float mean, scale, beta;
    stats.channel(int(k / g.spatial % g.c), mean, scale, beta);
    y[k] = bn_relu_value(x[k], mean, scale, beta, g.activation);
  }
}

__global__ void bn_relu_apply_kernel(BatchNormGeometry g, const float* x, const float* gamma, const float* beta,
                                     const float* save_mean, const float* save_inv_std, float* y) {
  bn_apply_values(g, x, BatchStats{gamma, beta, save_mean, save_inv_std}, y);
}

// running_inv_std: bn_running_inv_std_kernel's.
__global__ void bn_relu_infer_kernel(BatchNormGeometry g, const float* x, const float* gamma, const float* beta,
                                     const float* running_mean, const float* running_inv_std, float* y) {
  bn_apply_values(g, x, BatchStats{gamma, beta, running_mean, running_inv_std}, y);
}

// The backward's term: dy_eff and dy_eff * xhat, so that the totals are dbeta and dgamma.
template <class Dy>
struct GradTerm {
  BatchNormGeometry g;
  const float* x;
  Dy dy;
  const float *gamma, *beta, *save_mean, *save_inv_std;
  struct Channel {
    const GradTerm& t;
    float mean, inv_std, scale, beta;
    __device__ void operator()(int64_t k, double& sum_dy, double& sum_dy_xhat) const {
      const float dy_eff = bn_effective_dy(t.x[k], t.dy(k), mean, scale, beta, t.g.activation);
      sum_dy += dy_eff;
      sum_dy_xhat += double(dy_eff) * bn_xhat(t.x[k], mean, inv_std, t.g.activation);
    }
  };
  __device__ Channel channel(int c) const {
    return Channel{*this, save_mean[c], save_inv_std[c], bn_scale(gamma[c], save_inv_std[c]), beta[c]};
  }
};

__global__ void bn_relu_grad_partial_kernel(BatchNormGeometry g, int parts, const float* x, const float* dy,
                                            const float* gamma, const float* beta, const float* save_mean,
                                            const float* save_inv_std, double* partials) {
  bn_partial_sums(g, parts, GradTerm<PlainDy>{g, x, PlainDy{dy}, gamma, beta, save_mean, save_inv_std}, partials);
}

// One thread per channel: dbeta and dgamma from the partials.
__global__ void bn_relu_grad_finish_kernel(BatchNormGeometry g, int parts, const double* partials, float* dgamma,
                                           float* dbeta) {
  const int c = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (c >= g.c) return;
  double sum_dy, sum_dy_xhat;
  bn_total(partials, c, parts, sum_dy, sum_dy_xhat);
  dbeta[c] = float(sum_dy);
  dgamma[c] = float(sum_dy_xhat);
}

// dx element-wise, a grid-stride loop; dgamma and dbeta as bn_relu_grad_finish_kernel wrote them.
template <class Dy>
__device__ void bn_input_grad_values(const BatchNormGeometry& g, const float* x, const Dy& dy, const float* gamma,
                                     const float* beta, const float* save_mean, const float* save_inv_std,
                                     const float* dgamma, const float* dbeta, float* dx) {
  const int64_t count = bn_relu_count(g), stride = int64_t(gridDim.x) * blockDim.x;
  const float inv_m = 1.0f / float(bn_channel_count(g));
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < count; k += stride) {
    const int c = int(k / g.spatial % g.c);
    const float mean = save_mean[c], inv_std = save_inv_std[c], scale = bn_scale(gamma[c], inv_std);
    const float dy_eff = bn_effective_dy(x[k], dy(k), mean, scale, beta[c], g.activation);
    dx[k] = bn_relu_input_grad(x[k], dy_eff, bn_xhat(x[k], mean, inv_std, g.activation), scale, dbeta[c] * inv_m,
                               dgamma[c] * inv_m, g.activation);
  }
}

__global__ void bn_relu_input_grad_kernel(BatchNormGeometry g, const float* x, const float* dy, const float* gamma,
                                          const float* beta, const float* save_mean, const float* save_inv_std,
                                          const float* dgamma, const float* dbeta, float* dx) {
  bn_input_grad_values(g, x, PlainDy{dy}, gamma, beta, save_mean, save_inv_std, dgamma, dbeta, dx);
}

// dx += bn_input_grad_adjustment element-wise, a grid-stride loop.
__global__ void bn_input_grad_adjust_kernel(BatchNormGeometry g, const float* x, const float* mean, const float* a,
                                            const float* b, float* dx) {
  const int64_t count = bn_relu_count(g), stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < count; k += stride) {
    const int c = int(k / g.spatial % g.c);
    dx[k] += bn_input_grad_adjustment(x[k], mean[c], a[c], b[c], g.activation);
  }
}

// Synchronised batch norm's per-channel steps, one thread per channel (bn_finish_grid). sums
// holds c values of S0, then c of S1.
__global__ void bn_sync_pack_kernel(int c, BnSyncPack kind, double weight, float eps, const float* first,
                                    const float* second, double* sums) {
  const int k = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (k < c) bn_sync_pack_channel(kind, weight, eps, first[k], second[k], sums[k], sums[c + k]);
}

__global__ void bn_sync_combine_kernel(BatchNormGeometry g, double total, const double* sums, float* running_mean,
                                       float* running_var, float* save_mean, float* save_inv_std, float* batch_var) {
  const int k = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (k < g.c)
    bn_sync_combine_channel(sums[k], sums[g.c + k], total, g.eps, g.momentum, running_mean[k], running_var[k],
                            save_mean[k], save_inv_std[k], batch_var[k]);
}

__global__ void bn_sync_adjust_kernel(int c, double m, const double* sums, const float* gamma, const float* inv_std,
                                      const float* dbeta, const float* dgamma, float* a, float* b) {
  const int k = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (k < c) bn_sync_adjust_channel(sums[k], sums[c + k], m, gamma[k], inv_std[k], dbeta[k], dgamma[k], a[k], b[k]);
}

#endif  // __CUDACC__ || HDR_SIMT_HOST

}  // namespace hdr

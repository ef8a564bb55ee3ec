// Batch norm + ReLU on nChw16c tensors (see nchw16c.h), with the element math of
// kernels/bn_relu.cuh. One OpenMP iteration per block of 16 channels for the training passes
// (the reduction is per channel, and a block's 16 channels sit side by side: every inner loop
// is one 16-wide vector), per (n, block) for inference. As in the NCHW twin: sums of u - pivot
// per plane in float, across planes in double.
//
// The *_maxpool variants fuse a following max pooling with non-overlapping windows (stride ==
// size, as in every reference model): forward pools the batch-norm values as it computes them
// and never writes the 26x26 map; backward takes each position's gradient straight from the
// pooled gradient and argmax. Same results as bn_relu_* then maxpool_* (argmax indexes the
// batch-norm output, laid out like x).
#include "kernels/bn_relu.cuh"
#include "kernels/cpu/nchw16c.h"
#include "kernels/maxpool.cuh"

namespace hdr::cpu::nchw16c {
namespace {

constexpr int kLanes = 16;

// body(BnActivation constant) with the activation a compile-time constant.
template <class Body>
void with_activation(BnActivation act, Body&& body) {
  switch (act) {
    case BnActivation::kNone: body(std::integral_constant<BnActivation, BnActivation::kNone>{}); break;
    case BnActivation::kReluAfter: body(std::integral_constant<BnActivation, BnActivation::kReluAfter>{}); break;
    case BnActivation::kReluBefore: body(std::integral_constant<BnActivation, BnActivation::kReluBefore>{}); break;
  }
}

// The per-channel constants of one block of 16 channels: y = act((u - mean) * scale + shift).
struct LaneAffine {
  float mean[kLanes], inv_std[kLanes], scale[kLanes], shift[kLanes];
};

int64_t tile_offset(const BatchNormGeometry& g, int i, int b) {
  return (int64_t(i) * (g.c / kLanes) + b) * g.spatial * kLanes;
}

// Training statistics of block b: saves mean and 1/std, updates the running statistics.
template <BnActivation kAct>
LaneAffine train_statistics(const BatchNormGeometry& g, int b, const float* x, const float* gamma, const float* beta,
                            float* running_mean, float* running_var, float* save_mean, float* save_inv_std) {
  const int64_t spatial = g.spatial, m = int64_t(g.n) * spatial;
  float pivot[kLanes];
  double sum[kLanes] = {}, sum_sq[kLanes] = {};
  for (int l = 0; l < kLanes; ++l) pivot[l] = bn_input(x[tile_offset(g, 0, b) + l], kAct);
  for (int i = 0; i < g.n; ++i) {
    const float* t = x + tile_offset(g, i, b);
    float ps[kLanes] = {}, pss[kLanes] = {};
    for (int64_t s = 0; s < spatial; ++s)
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        const float d = bn_input(t[s * kLanes + l], kAct) - pivot[l];
        ps[l] += d;
        pss[l] += d * d;
      }
    for (int l = 0; l < kLanes; ++l) {
      sum[l] += ps[l];
      sum_sq[l] += pss[l];
    }
  }
  LaneAffine a;
  for (int l = 0; l < kLanes; ++l) {
    const int c = b * kLanes + l;
    bn_finish_stats(pivot[l], sum[l], sum_sq[l], m, g.eps, g.momentum, running_mean[c], running_var[c], save_mean[c],
                    save_inv_std[c]);
    a.mean[l] = save_mean[c];
    a.inv_std[l] = save_inv_std[c];
    a.scale[l] = bn_scale(gamma[c], save_inv_std[c]);
    a.shift[l] = beta[c];
  }
  return a;
}

LaneAffine running_affine(const BatchNormGeometry& g, int b, const float* gamma, const float* beta,
                          const float* running_mean, const float* running_var) {
  LaneAffine a;
  for (int l = 0; l < kLanes; ++l) {
    const int c = b * kLanes + l;
    a.mean[l] = running_mean[c];
    a.inv_std[l] = bn_inv_std(running_var[c], g.eps);
    a.scale[l] = bn_scale(gamma[c], a.inv_std[l]);
    a.shift[l] = beta[c];
  }
  return a;
}

LaneAffine saved_affine(int b, const float* gamma, const float* beta, const float* save_mean,
                        const float* save_inv_std) {
  LaneAffine a;
  for (int l = 0; l < kLanes; ++l) {
    const int c = b * kLanes + l;
    a.mean[l] = save_mean[c];
    a.inv_std[l] = save_inv_std[c];
    a.scale[l] = bn_scale(gamma[c], save_inv_std[c]);
    a.shift[l] = beta[c];
  }
  return a;
}

// y = bn_relu(x) over tile (i, b).
template <BnActivation kAct>
void apply_tile(const BatchNormGeometry& g, int i, int b, const LaneAffine& a, const float* x, float* y) {
  const int64_t offset = tile_offset(g, i, b);
  for (int64_t s = 0; s < g.spatial; ++s)
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const int64_t k = offset + s * kLanes + l;
      y[k] = bn_relu_value(x[k], a.mean[l], a.scale[l], a.shift[l], kAct);
    }
}

// y, argmax = maxpool(bn_relu(x)) over tile (i, b), batch-norm values computed on the fly.
template <BnActivation kAct>
void apply_and_pool_tile(const BatchNormGeometry& g, const PoolGeometry& p, int i, int b, const LaneAffine& a,
                         const float* x, float* y, int32_t* argmax) {
  const int out_h = p.out_h(), out_w = p.out_w();
  const int64_t in_base = tile_offset(g, i, b), out_base = (int64_t(i) * (g.c / kLanes) + b) * out_h * out_w * kLanes;
  for (int r = 0; r < out_h; ++r)
    for (int q = 0; q < out_w; ++q) {
      float best[kLanes];
      int32_t where[kLanes];
      for (int di = 0; di < p.size; ++di)
        for (int dj = 0; dj < p.size; ++dj) {
          const int64_t at = in_base + (int64_t(r * p.stride + di) * p.w + q * p.stride + dj) * kLanes;
#pragma omp simd
          for (int l = 0; l < kLanes; ++l) {
            const float v = bn_relu_value(x[at + l], a.mean[l], a.scale[l], a.shift[l], kAct);
            if (di == 0 && dj == 0) {
              best[l] = v;
              where[l] = int32_t(at + l);
            } else {
              maxpool_take(v, int32_t(at + l), best[l], where[l]);
            }
          }
        }
      const int64_t o = out_base + (int64_t(r) * out_w + q) * kLanes;
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        y[o + l] = best[l];
        argmax[o + l] = where[l];
      }
    }
}

// Sums of dy_eff and dy_eff * xhat over one position's 16 lanes, added into ps / pss.
template <BnActivation kAct>
inline void add_grad_sums(const LaneAffine& a, const float* x, const float* dy, float* ps, float* pss) {
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) {
    const float dy_eff = bn_effective_dy(x[l], dy[l], a.mean[l], a.scale[l], a.shift[l], kAct);
    ps[l] += dy_eff;
    pss[l] += dy_eff * bn_xhat(x[l], a.mean[l], a.inv_std[l], kAct);
  }
}

// dx of one position's 16 lanes from its dy and the channel means of the sums.
template <BnActivation kAct>
inline void write_input_grad(const LaneAffine& a, const float* mean_dy, const float* mean_dy_xhat, const float* x,
                             const float* dy, float* dx) {
#pragma omp simd
  for (int l = 0; l < kLanes; ++l) {
    const float dy_eff = bn_effective_dy(x[l], dy[l], a.mean[l], a.scale[l], a.shift[l], kAct);
    dx[l] = bn_relu_input_grad(x[l], dy_eff, bn_xhat(x[l], a.mean[l], a.inv_std[l], kAct), a.scale[l], mean_dy[l],
                               mean_dy_xhat[l], kAct);
  }
}

// The channel means of the sums (and dgamma, dbeta) of block b.
void finish_grad_sums(const BatchNormGeometry& g, int b, const double* sum_dy, const double* sum_dy_xhat,
                      float* mean_dy, float* mean_dy_xhat, float* dgamma, float* dbeta) {
  const double m = double(g.n) * double(g.spatial);
  for (int l = 0; l < kLanes; ++l) {
    dbeta[b * kLanes + l] = float(sum_dy[l]);
    dgamma[b * kLanes + l] = float(sum_dy_xhat[l]);
    mean_dy[l] = m > 0 ? float(sum_dy[l] / m) : 0.0f;
    mean_dy_xhat[l] = m > 0 ? float(sum_dy_xhat[l] / m) : 0.0f;
  }
}

}  // namespace

void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           float* running_mean, float* running_var, float* save_mean, float* save_inv_std, float* y) {
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g.c / kLanes; ++b) {
      const LaneAffine a = train_statistics<kAct>(g, b, x, gamma, beta, running_mean, running_var, save_mean,
                                                  save_inv_std);
      for (int i = 0; i < g.n; ++i) apply_tile<kAct>(g, i, b, a, x, y);
    }
  });
}

void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           const float* running_mean, const float* running_var, float* y) {
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < g.n; ++i)
      for (int b = 0; b < g.c / kLanes; ++b)
        apply_tile<kAct>(g, i, b, running_affine(g, b, gamma, beta, running_mean, running_var), x, y);
  });
}

void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                      const float* beta, const float* save_mean, const float* save_inv_std, float* dx, float* dgamma,
                      float* dbeta) {
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g.c / kLanes; ++b) {
      const LaneAffine a = saved_affine(b, gamma, beta, save_mean, save_inv_std);
      double sum_dy[kLanes] = {}, sum_dy_xhat[kLanes] = {};
      for (int i = 0; i < g.n; ++i) {
        float ps[kLanes] = {}, pss[kLanes] = {};
        for (int64_t k = tile_offset(g, i, b), end = k + g.spatial * kLanes; k < end; k += kLanes)
          add_grad_sums<kAct>(a, x + k, dy + k, ps, pss);
        for (int l = 0; l < kLanes; ++l) {
          sum_dy[l] += ps[l];
          sum_dy_xhat[l] += pss[l];
        }
      }
      float mean_dy[kLanes], mean_dy_xhat[kLanes];
      finish_grad_sums(g, b, sum_dy, sum_dy_xhat, mean_dy, mean_dy_xhat, dgamma, dbeta);
      for (int i = 0; i < g.n; ++i)
        for (int64_t k = tile_offset(g, i, b), end = k + g.spatial * kLanes; k < end; k += kLanes)
          write_input_grad<kAct>(a, mean_dy, mean_dy_xhat, x + k, dy + k, dx + k);
    }
  });
}

void bn_input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a, const float* b,
                          float* dx) {
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < g.n; ++i)
      for (int blk = 0; blk < g.c / kLanes; ++blk) {
        const float *m_lanes = mean + blk * kLanes, *a_lanes = a + blk * kLanes, *b_lanes = b + blk * kLanes;
        for (int64_t k = tile_offset(g, i, blk), end = k + g.spatial * kLanes; k < end; k += kLanes)
#pragma omp simd
          for (int l = 0; l < kLanes; ++l)
            dx[k + l] += bn_input_grad_adjustment(x[k + l], m_lanes[l], a_lanes[l], b_lanes[l], kAct);
      }
  });
}

void bn_relu_maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                   const float* gamma, const float* beta, float* running_mean, float* running_var,
                                   float* save_mean, float* save_inv_std, float* y, int32_t* argmax) {
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < g.c / kLanes; ++b) {
      const LaneAffine a = train_statistics<kAct>(g, b, x, gamma, beta, running_mean, running_var, save_mean,
                                                  save_inv_std);
      for (int i = 0; i < g.n; ++i) apply_and_pool_tile<kAct>(g, p, i, b, a, x, y, argmax);
    }
  });
}

void bn_relu_maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                   const float* gamma, const float* beta, const float* running_mean,
                                   const float* running_var, float* y, int32_t* argmax) {
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < g.n; ++i)
      for (int b = 0; b < g.c / kLanes; ++b)
        apply_and_pool_tile<kAct>(g, p, i, b, running_affine(g, b, gamma, beta, running_mean, running_var), x, y,
                                  argmax);
  });
}

void bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x, const float* dy,
                              const int32_t* argmax, const float* gamma, const float* beta, const float* save_mean,
                              const float* save_inv_std, float* dx, float* dgamma, float* dbeta) {
  const int out_h = p.out_h(), out_w = p.out_w(), blocks = g.c / kLanes;
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < blocks; ++b) {
      const LaneAffine a = saved_affine(b, gamma, beta, save_mean, save_inv_std);
      // The window walk is written out in both passes: behind a lambda (for_each_window(fn)) the
      // lane arrays went through memory and the call took about twice as long (~400 vs ~200 us at
      // bn1's shape, hdr_kernels_bench BM_BnReluMaxPoolBackward).
      // Pass 1 visits the window positions only: elsewhere dy is 0 and adds nothing.
      double sum_dy[kLanes] = {}, sum_dy_xhat[kLanes] = {};
      for (int i = 0; i < g.n; ++i) {
        const int64_t in_base = tile_offset(g, i, b), out_base = (int64_t(i) * blocks + b) * out_h * out_w * kLanes;
        float ps[kLanes] = {}, pss[kLanes] = {};
        for (int r = 0; r < out_h; ++r)
          for (int q = 0; q < out_w; ++q) {
            const int64_t o = out_base + (int64_t(r) * out_w + q) * kLanes;
            for (int di = 0; di < p.size; ++di)
              for (int dj = 0; dj < p.size; ++dj) {
                const int64_t at = in_base + (int64_t(r * p.stride + di) * p.w + q * p.stride + dj) * kLanes;
#pragma omp simd
                for (int l = 0; l < kLanes; ++l) {
                  const float pooled = dy[o + l];  // loaded unconditionally: a conditional load blocks vectorising
                  const float routed = argmax[o + l] == int32_t(at + l) ? pooled : 0.0f;
                  const float dy_eff = bn_effective_dy(x[at + l], routed, a.mean[l], a.scale[l], a.shift[l], kAct);
                  ps[l] += dy_eff;
                  pss[l] += dy_eff * bn_xhat(x[at + l], a.mean[l], a.inv_std[l], kAct);
                }
              }
          }
        for (int l = 0; l < kLanes; ++l) {
          sum_dy[l] += ps[l];
          sum_dy_xhat[l] += pss[l];
        }
      }
      float mean_dy[kLanes], mean_dy_xhat[kLanes];
      finish_grad_sums(g, b, sum_dy, sum_dy_xhat, mean_dy, mean_dy_xhat, dgamma, dbeta);
      // Pass 2: dx everywhere as for dy = 0 (not zero: the mean terms), then the window positions.
      for (int i = 0; i < g.n; ++i) {
        const int64_t in_base = tile_offset(g, i, b), out_base = (int64_t(i) * blocks + b) * out_h * out_w * kLanes;
        for (int64_t k = in_base, end = in_base + g.spatial * kLanes; k < end; k += kLanes)
#pragma omp simd
          for (int l = 0; l < kLanes; ++l)
            dx[k + l] = bn_relu_input_grad(x[k + l], 0.0f, bn_xhat(x[k + l], a.mean[l], a.inv_std[l], kAct), a.scale[l],
                                           mean_dy[l], mean_dy_xhat[l], kAct);
        for (int r = 0; r < out_h; ++r)
          for (int q = 0; q < out_w; ++q) {
            const int64_t o = out_base + (int64_t(r) * out_w + q) * kLanes;
            for (int di = 0; di < p.size; ++di)
              for (int dj = 0; dj < p.size; ++dj) {
                const int64_t at = in_base + (int64_t(r * p.stride + di) * p.w + q * p.stride + dj) * kLanes;
#pragma omp simd
                for (int l = 0; l < kLanes; ++l) {
                  const float pooled = dy[o + l];  // loaded unconditionally: a conditional load blocks vectorising
                  const float routed = argmax[o + l] == int32_t(at + l) ? pooled : 0.0f;
                  const float dy_eff = bn_effective_dy(x[at + l], routed, a.mean[l], a.scale[l], a.shift[l], kAct);
                  dx[at + l] = bn_relu_input_grad(x[at + l], dy_eff, bn_xhat(x[at + l], a.mean[l], a.inv_std[l], kAct),
                                                  a.scale[l], mean_dy[l], mean_dy_xhat[l], kAct);
                }
              }
          }
      }
    }
  });
}

}  // namespace hdr::cpu::nchw16c

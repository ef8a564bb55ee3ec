// Batch norm + ReLU on nChw16c tensors (see nchw16c.h), with the element math of
// kernels/bn_relu.cuh. One OpenMP iteration per block of 16 channels for the training passes
// (the reduction is per channel, and a block's 16 channels sit side by side: every inner loop
// is one 16-wide vector), per (n, block) for inference. As in the NCHW twin: sums of u - pivot
// per plane in float, across planes in double.
#include "kernels/bn_relu.cuh"
#include "kernels/cpu/nchw16c.h"

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

}  // namespace

void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           float* running_mean, float* running_var, float* save_mean, float* save_inv_std,
                           float* y) {
  const int blocks = g.c / kLanes;
  const int64_t spatial = g.spatial, tile = spatial * kLanes, m = int64_t(g.n) * spatial;
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < blocks; ++b) {
      float pivot[kLanes];
      double sum[kLanes] = {}, sum_sq[kLanes] = {};
      for (int l = 0; l < kLanes; ++l) pivot[l] = bn_input(x[int64_t(b) * tile + l], kAct);
      for (int i = 0; i < g.n; ++i) {
        const float* t = x + (int64_t(i) * blocks + b) * tile;
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
      float mean[kLanes], scale[kLanes], shift[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        const int c = b * kLanes + l;
        bn_finish_stats(pivot[l], sum[l], sum_sq[l], m, g.eps, g.momentum, running_mean[c], running_var[c],
                        save_mean[c], save_inv_std[c]);
        mean[l] = save_mean[c];
        scale[l] = bn_scale(gamma[c], save_inv_std[c]);
        shift[l] = beta[c];
      }
      for (int i = 0; i < g.n; ++i) {
        const int64_t offset = (int64_t(i) * blocks + b) * tile;
        for (int64_t s = 0; s < spatial; ++s)
#pragma omp simd
          for (int l = 0; l < kLanes; ++l)
            y[offset + s * kLanes + l] = bn_relu_value(x[offset + s * kLanes + l], mean[l], scale[l], shift[l], kAct);
      }
    }
  });
}

void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           const float* running_mean, const float* running_var, float* y) {
  const int blocks = g.c / kLanes;
  const int64_t spatial = g.spatial, tile = spatial * kLanes;
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < g.n; ++i)
      for (int b = 0; b < blocks; ++b) {
        float mean[kLanes], scale[kLanes], shift[kLanes];
        for (int l = 0; l < kLanes; ++l) {
          const int c = b * kLanes + l;
          mean[l] = running_mean[c];
          scale[l] = bn_scale(gamma[c], bn_inv_std(running_var[c], g.eps));
          shift[l] = beta[c];
        }
        const int64_t offset = (int64_t(i) * blocks + b) * tile;
        for (int64_t s = 0; s < spatial; ++s)
#pragma omp simd
          for (int l = 0; l < kLanes; ++l)
            y[offset + s * kLanes + l] = bn_relu_value(x[offset + s * kLanes + l], mean[l], scale[l], shift[l], kAct);
      }
  });
}

void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                      const float* beta, const float* save_mean, const float* save_inv_std, float* dx,
                      float* dgamma, float* dbeta) {
  const int blocks = g.c / kLanes;
  const int64_t spatial = g.spatial, tile = spatial * kLanes;
  const double m = double(g.n) * double(spatial);
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < blocks; ++b) {
      float mean[kLanes], inv_std[kLanes], scale[kLanes], shift[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        const int c = b * kLanes + l;
        mean[l] = save_mean[c];
        inv_std[l] = save_inv_std[c];
        scale[l] = bn_scale(gamma[c], inv_std[l]);
        shift[l] = beta[c];
      }
      double sum_dy[kLanes] = {}, sum_dy_xhat[kLanes] = {};
      for (int i = 0; i < g.n; ++i) {
        const int64_t offset = (int64_t(i) * blocks + b) * tile;
        float ps[kLanes] = {}, pss[kLanes] = {};
        for (int64_t s = 0; s < spatial; ++s)
#pragma omp simd
          for (int l = 0; l < kLanes; ++l) {
            const float xv = x[offset + s * kLanes + l];
            const float dy_eff = bn_effective_dy(xv, dy[offset + s * kLanes + l], mean[l], scale[l], shift[l], kAct);
            ps[l] += dy_eff;
            pss[l] += dy_eff * bn_xhat(xv, mean[l], inv_std[l], kAct);
          }
        for (int l = 0; l < kLanes; ++l) {
          sum_dy[l] += ps[l];
          sum_dy_xhat[l] += pss[l];
        }
      }
      float mean_dy[kLanes], mean_dy_xhat[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        dbeta[b * kLanes + l] = float(sum_dy[l]);
        dgamma[b * kLanes + l] = float(sum_dy_xhat[l]);
        mean_dy[l] = m > 0 ? float(sum_dy[l] / m) : 0.0f;
        mean_dy_xhat[l] = m > 0 ? float(sum_dy_xhat[l] / m) : 0.0f;
      }
      for (int i = 0; i < g.n; ++i) {
        const int64_t offset = (int64_t(i) * blocks + b) * tile;
        for (int64_t s = 0; s < spatial; ++s)
#pragma omp simd
          for (int l = 0; l < kLanes; ++l) {
            const int64_t k = offset + s * kLanes + l;
            const float dy_eff = bn_effective_dy(x[k], dy[k], mean[l], scale[l], shift[l], kAct);
            dx[k] = bn_relu_input_grad(x[k], dy_eff, bn_xhat(x[k], mean[l], inv_std[l], kAct), scale[l], mean_dy[l],
                                       mean_dy_xhat[l], kAct);
          }
      }
    }
  });
}

}  // namespace hdr::cpu::nchw16c

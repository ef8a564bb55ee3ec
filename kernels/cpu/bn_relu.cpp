// CPU twin of kernels/bn_relu.cuh: batch norm fused with ReLU over NCHW tensors (n x c x spatial).
// Training forward and backward reduce over each channel's m = n * spatial values, so they run
// one OpenMP iteration per channel (c is 32..128 in the reference models); inference has no
// reduction and runs over (n, c) planes. Every inner loop walks one contiguous plane of
// `spatial` values. The forward's one-pass variance sums u - pivot (the channel's first value),
// which keeps its digits even when |mean| >> std; each plane (<= 26 x 26 values) is summed in
// float so the loop vectorises (a float-to-double reduction did not, and ran 28x slower), and
// planes are summed in double, so large batches lose nothing. The activation is a template
// parameter, so the inner loops are branch-free after inlining.
#include "kernels/bn_relu.cuh"

#include <type_traits>

#include "kernels/ops.h"

namespace hdr::cpu {
namespace {

template <BnActivation kAct>
using ActivationTag = std::integral_constant<BnActivation, kAct>;

// Calls body(ActivationTag<act>{}) so that body's loops are compiled once per activation.
template <class Body>
void with_activation(BnActivation act, Body&& body) {
  switch (act) {
    case BnActivation::kNone: body(ActivationTag<BnActivation::kNone>{}); break;
    case BnActivation::kReluAfter: body(ActivationTag<BnActivation::kReluAfter>{}); break;
    case BnActivation::kReluBefore: body(ActivationTag<BnActivation::kReluBefore>{}); break;
  }
}

// One position per channel (a dense layer's output, n x c): a sample's channels are contiguous,
// so these loops run sample by sample and vectorise across a chunk of channels, where the
// per-channel loops below would stride through memory one value at a time (31 us for 64 x 128
// on AVX2). Per channel they add the same terms in the same order (a plane is one value, whose
// float sums are the value itself and its square), so they give the same bits.
constexpr int kRowChunk = 64;                       // channels per OpenMP iteration
constexpr int64_t kMinParallelRowValues = 1 << 15;  // below this, one thread

// The chunks of channels [first, first + width) of a row layout, split across threads when large.
template <class Body>
void for_row_chunks(const BatchNormGeometry& g, Body&& body) {
  const int chunks = (g.c + kRowChunk - 1) / kRowChunk;
#pragma omp parallel for schedule(static) if (int64_t(g.n) * g.c >= kMinParallelRowValues)
  for (int chunk = 0; chunk < chunks; ++chunk) {
    const int first = chunk * kRowChunk;
    body(first, g.c - first < kRowChunk ? g.c - first : kRowChunk);
  }
}

template <BnActivation kAct>
void forward_train_rows(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                        float* running_mean, float* running_var, float* save_mean, float* save_inv_std, float* y) {
  for_row_chunks(g, [&](int first, int width) {
    float pivot[kRowChunk], mean[kRowChunk], scale[kRowChunk];
    double sum[kRowChunk] = {}, sum_sq[kRowChunk] = {};  // of (u - pivot), per channel
    for (int k = 0; k < width; ++k) pivot[k] = bn_input(x[first + k], kAct);
    for (int i = 0; i < g.n; ++i) {
      const float* row = x + int64_t(i) * g.c + first;
#pragma omp simd
      for (int k = 0; k < width; ++k) {
        const float d = bn_input(row[k], kAct) - pivot[k];
        const float d_sq = d * d;
        sum[k] += d;
        sum_sq[k] += d_sq;
      }
    }
    for (int k = 0; k < width; ++k) {
      const int c = first + k;
      bn_finish_stats(pivot[k], sum[k], sum_sq[k], g.n, g.eps, g.momentum, running_mean[c], running_var[c],
                      save_mean[c], save_inv_std[c]);
      mean[k] = save_mean[c];
      scale[k] = bn_scale(gamma[c], save_inv_std[c]);
    }
    for (int i = 0; i < g.n; ++i) {
      const int64_t at = int64_t(i) * g.c + first;
#pragma omp simd
      for (int k = 0; k < width; ++k) y[at + k] = bn_relu_value(x[at + k], mean[k], scale[k], beta[first + k], kAct);
    }
  });
}

template <BnActivation kAct>
void backward_rows(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma, const float* beta,
                   const float* save_mean, const float* save_inv_std, float* dx, float* dgamma, float* dbeta) {
  const double m = double(g.n);
  for_row_chunks(g, [&](int first, int width) {
    float mean[kRowChunk], inv_std[kRowChunk], scale[kRowChunk], mean_dy[kRowChunk], mean_dy_xhat[kRowChunk];
    double sum_dy[kRowChunk] = {}, sum_dy_xhat[kRowChunk] = {};
    for (int k = 0; k < width; ++k) {
      mean[k] = save_mean[first + k];
      inv_std[k] = save_inv_std[first + k];
      scale[k] = bn_scale(gamma[first + k], inv_std[k]);
    }
    const float* shift = beta + first;
    for (int i = 0; i < g.n; ++i) {
      const int64_t at = int64_t(i) * g.c + first;
#pragma omp simd
      for (int k = 0; k < width; ++k) {
        const float dy_eff = bn_effective_dy(x[at + k], dy[at + k], mean[k], scale[k], shift[k], kAct);
        sum_dy[k] += dy_eff;
        sum_dy_xhat[k] += double(dy_eff) * bn_xhat(x[at + k], mean[k], inv_std[k], kAct);
      }
    }
    for (int k = 0; k < width; ++k) {
      dbeta[first + k] = float(sum_dy[k]);
      dgamma[first + k] = float(sum_dy_xhat[k]);
      mean_dy[k] = m > 0 ? float(sum_dy[k] / m) : 0.0f;
      mean_dy_xhat[k] = m > 0 ? float(sum_dy_xhat[k] / m) : 0.0f;
    }
    for (int i = 0; i < g.n; ++i) {
      const int64_t at = int64_t(i) * g.c + first;
#pragma omp simd
      for (int k = 0; k < width; ++k) {
        const float dy_eff = bn_effective_dy(x[at + k], dy[at + k], mean[k], scale[k], shift[k], kAct);
        dx[at + k] = bn_relu_input_grad(x[at + k], dy_eff, bn_xhat(x[at + k], mean[k], inv_std[k], kAct), scale[k],
                                        mean_dy[k], mean_dy_xhat[k], kAct);
      }
    }
  });
}

}  // namespace

void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           float* running_mean, float* running_var, float* save_mean, float* save_inv_std, float* y) {
  if (g.n == 0 || g.spatial == 0) return;
  const int64_t spatial = g.spatial;
  const int64_t sample_stride = int64_t(g.c) * spatial;
  const int64_t m = int64_t(g.n) * spatial;
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
    if (spatial == 1)
      return forward_train_rows<kAct>(g, x, gamma, beta, running_mean, running_var, save_mean, save_inv_std, y);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < g.c; ++c) {
      const float pivot = bn_input(x[c * spatial], kAct);
      double sum = 0.0, sum_sq = 0.0;  // of (u - pivot)
      for (int i = 0; i < g.n; ++i) {
        const float* plane = x + i * sample_stride + c * spatial;
        float plane_sum = 0.0f, plane_sum_sq = 0.0f;
#pragma omp simd reduction(+ : plane_sum, plane_sum_sq)
        for (int64_t s = 0; s < spatial; ++s) {
          const float d = bn_input(plane[s], kAct) - pivot;
          plane_sum += d;
          plane_sum_sq += d * d;
        }
        sum += plane_sum;
        sum_sq += plane_sum_sq;
      }
      bn_finish_stats(pivot, sum, sum_sq, m, g.eps, g.momentum, running_mean[c], running_var[c], save_mean[c],
                      save_inv_std[c]);

      const float mean_f = save_mean[c], scale = bn_scale(gamma[c], save_inv_std[c]), beta_c = beta[c];
      for (int i = 0; i < g.n; ++i) {
        const float* in = x + i * sample_stride + c * spatial;
        float* out = y + i * sample_stride + c * spatial;
#pragma omp simd
        for (int64_t s = 0; s < spatial; ++s) out[s] = bn_relu_value(in[s], mean_f, scale, beta_c, kAct);
      }
    }
  });
}

void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           const float* running_mean, const float* running_var, float* y) {
  const int64_t spatial = g.spatial;
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < g.n; ++i) {
      for (int c = 0; c < g.c; ++c) {
        const float mean = running_mean[c], beta_c = beta[c];
        const float scale = bn_scale(gamma[c], bn_inv_std(running_var[c], g.eps));
        const int64_t offset = (int64_t(i) * g.c + c) * spatial;
        const float* in = x + offset;
        float* out = y + offset;
#pragma omp simd
        for (int64_t s = 0; s < spatial; ++s) out[s] = bn_relu_value(in[s], mean, scale, beta_c, kAct);
      }
    }
  });
}

void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                      const float* beta, const float* save_mean, const float* save_inv_std, float* dx, float* dgamma,
                      float* dbeta) {
  const int64_t spatial = g.spatial;
  const int64_t sample_stride = int64_t(g.c) * spatial;
  const double m = double(g.n) * double(spatial);
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
    if (spatial == 1) return backward_rows<kAct>(g, x, dy, gamma, beta, save_mean, save_inv_std, dx, dgamma, dbeta);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < g.c; ++c) {
      const float mean = save_mean[c], inv_std = save_inv_std[c];
      const float scale = bn_scale(gamma[c], inv_std), beta_c = beta[c];
      double sum_dy = 0.0, sum_dy_xhat = 0.0;
      for (int i = 0; i < g.n; ++i) {
        const float* xp = x + i * sample_stride + c * spatial;
        const float* dyp = dy + i * sample_stride + c * spatial;
#pragma omp simd reduction(+ : sum_dy, sum_dy_xhat)
        for (int64_t s = 0; s < spatial; ++s) {
          const float dy_eff = bn_effective_dy(xp[s], dyp[s], mean, scale, beta_c, kAct);
          sum_dy += dy_eff;
          sum_dy_xhat += double(dy_eff) * bn_xhat(xp[s], mean, inv_std, kAct);
        }
      }
      dbeta[c] = float(sum_dy);
      dgamma[c] = float(sum_dy_xhat);
      if (m == 0.0) continue;

      const float mean_dy = float(sum_dy / m), mean_dy_xhat = float(sum_dy_xhat / m);
      for (int i = 0; i < g.n; ++i) {
        const float* xp = x + i * sample_stride + c * spatial;
        const float* dyp = dy + i * sample_stride + c * spatial;
        float* dxp = dx + i * sample_stride + c * spatial;
#pragma omp simd
        for (int64_t s = 0; s < spatial; ++s) {
          const float dy_eff = bn_effective_dy(xp[s], dyp[s], mean, scale, beta_c, kAct);
          dxp[s] = bn_relu_input_grad(xp[s], dy_eff, bn_xhat(xp[s], mean, inv_std, kAct), scale, mean_dy, mean_dy_xhat,
                                      kAct);
        }
      }
    }
  });
}

void bn_input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a, const float* b,
                          float* dx) {
  const int64_t spatial = g.spatial;
  with_activation(g.activation, [&](auto tag) {
    constexpr BnActivation kAct = decltype(tag)::value;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < g.n; ++i)
      for (int c = 0; c < g.c; ++c) {
        const int64_t offset = (int64_t(i) * g.c + c) * spatial;
        const float mean_c = mean[c], a_c = a[c], b_c = b[c];
#pragma omp simd
        for (int64_t s = 0; s < spatial; ++s)
          dx[offset + s] += bn_input_grad_adjustment(x[offset + s], mean_c, a_c, b_c, kAct);
      }
  });
}

// A few channels: plain loops over the shared per-channel steps.
void bn_sync_pack(int c, BnSyncPack kind, double weight, float eps, const float* first, const float* second,
                  double* sums) {
  for (int k = 0; k < c; ++k) bn_sync_pack_channel(kind, weight, eps, first[k], second[k], sums[k], sums[c + k]);
}

void bn_sync_combine(const BatchNormGeometry& g, double total, const double* sums, float* running_mean,
                     float* running_var, float* save_mean, float* save_inv_std, float* batch_var) {
  for (int k = 0; k < g.c; ++k)
    bn_sync_combine_channel(sums[k], sums[g.c + k], total, g.eps, g.momentum, running_mean[k], running_var[k],
                            save_mean[k], save_inv_std[k], batch_var[k]);
}

void bn_sync_adjust(int c, double m, const double* sums, const float* gamma, const float* inv_std, const float* dbeta,
                    const float* dgamma, float* a, float* b) {
  for (int k = 0; k < c; ++k)
    bn_sync_adjust_channel(sums[k], sums[c + k], m, gamma[k], inv_std[k], dbeta[k], dgamma[k], a[k], b[k]);
}

}  // namespace hdr::cpu

#include "engine/nn/sync_batch_norm.h"

#include <algorithm>
#include <stdexcept>

#include "engine/backends/backend.h"
#include "kernels/bn_relu.cuh"

namespace hdr {

void SyncBatchNorm::allocate(Backend& backend, int channels) {
  backend_ = &backend;
  channels_ = channels;
  scratch_ = DeviceArray<float>(backend, 2 * size_t(channels));
  batch_var_ = DeviceArray<float>(backend, size_t(channels));
  adjust_ = DeviceArray<float>(backend, 2 * size_t(channels));
}

// Rank r's m_r values per channel have mean_r and biased variance var_r = 1 / inv_std_r^2 - eps.
// Over all M = sum m_r values: mean = sum m_r mean_r / M, and
// var = sum m_r (var_r + (mean_r - mean)^2) / M, taken after the mean is known.
void SyncBatchNorm::combine_statistics(const BatchSync& sync, const BatchNormGeometry& g, float* running_mean,
                                       float* running_var, float* save_mean, float* save_inv_std) {
  if (!backend_) throw std::logic_error("SyncBatchNorm: not allocated");
  const size_t c = size_t(channels_);
  const double m = double(g.n) * g.spatial, total = double(sync.global_n) * g.spatial;
  std::vector<float> local_mean(c, 0.0f), local_inv_std(c, 0.0f);
  if (g.n > 0) {
    backend_->download(local_mean.data(), save_mean, c * sizeof(float));
    backend_->download(local_inv_std.data(), save_inv_std, c * sizeof(float));
  }
  std::vector<double> sums(c, 0.0);
  if (g.n > 0)
    for (size_t k = 0; k < c; ++k) sums[k] = m * local_mean[k];
  sync.communicator->sum(sums.data(), c);
  std::vector<double> mean(c);
  for (size_t k = 0; k < c; ++k) mean[k] = sums[k] / total;
  for (size_t k = 0; k < c; ++k) {
    if (g.n == 0) {
      sums[k] = 0.0;
      continue;
    }
    const double inv_std = local_inv_std[k];
    const double var = std::max(0.0, 1.0 / (inv_std * inv_std) - double(g.eps));
    const double spread = double(local_mean[k]) - mean[k];
    sums[k] = m * (var + spread * spread);
  }
  sync.communicator->sum(sums.data(), c);

  std::vector<float> running(2 * c), var(c);
  backend_->download(running.data(), running_mean, c * sizeof(float));
  backend_->download(running.data() + c, running_var, c * sizeof(float));
  std::vector<float> mean_f(c);
  inv_std_.resize(c);
  for (size_t k = 0; k < c; ++k) {
    const double global_var = sums[k] / total;
    mean_f[k] = float(mean[k]);
    var[k] = float(global_var);
    inv_std_[k] = bn_inv_std(var[k], g.eps);  // as the inference op derives it from var
    running[k] = bn_running_update(running[k], mean[k], g.momentum);
    running[c + k] = bn_running_update(running[c + k], bn_unbiased_var(global_var, int64_t(total)), g.momentum);
  }
  backend_->upload(running_mean, running.data(), c * sizeof(float));
  backend_->upload(running_var, running.data() + c, c * sizeof(float));
  backend_->upload(save_mean, mean_f.data(), c * sizeof(float));
  backend_->upload(save_inv_std, inv_std_.data(), c * sizeof(float));
  batch_var_.upload(var);
}

// The backward op gave, per channel, with the slice's m values and xhat from the global
// statistics: dbeta_r = sum dy, dgamma_r = sum dy * xhat and
// dx = scale * (dy - dbeta_r / m - xhat * dgamma_r / m). A rank's dy is the gradient of its own
// mean loss, N / n times that of the global batch's; the global sums in those units are
// A = sum over ranks of (n_r / N) dbeta_r and B likewise, and the global batch's dx, in the same
// units, is scale * (dy - A / m - xhat * B / m). The difference is, with xhat = (u - mean) * inv_std,
//   dx += a + b * (u - mean),  a = scale * (dbeta_r - A) / m,  b = scale * inv_std * (dgamma_r - B) / m.
void SyncBatchNorm::adjust_input_grad(const BatchSync& sync, const BatchNormGeometry& g, Layout layout, const float* x,
                                      const float* gamma, const float* save_mean, const float* dgamma,
                                      const float* dbeta, float* dx) {
  const size_t c = size_t(channels_);
  const double share = double(g.n) / double(sync.global_n), m = double(g.n) * g.spatial;
  std::vector<float> local(2 * c, 0.0f);
  if (g.n > 0) {
    backend_->download(local.data(), dbeta, c * sizeof(float));
    backend_->download(local.data() + c, dgamma, c * sizeof(float));
  }
  std::vector<double> sums(2 * c);
  for (size_t k = 0; k < 2 * c; ++k) sums[k] = share * local[k];
  sync.communicator->sum(sums.data(), 2 * c);
  if (g.n == 0 || !dx) return;
  std::vector<float> gamma_host(c), adjust(2 * c);
  backend_->download(gamma_host.data(), gamma, c * sizeof(float));
  for (size_t k = 0; k < c; ++k) {
    const double scale = bn_scale(gamma_host[k], inv_std_[k]);
    adjust[k] = float(scale * (double(local[k]) - sums[k]) / m);
    adjust[c + k] = float(scale * inv_std_[k] * (double(local[c + k]) - sums[c + k]) / m);
  }
  adjust_.upload(adjust);
  backend_->bn_input_grad_adjust(
      {.g = g, .layout = layout, .x = x, .mean = save_mean, .a = adjust_.data(), .b = adjust_.data() + c, .dx = dx});
}

}  // namespace hdr

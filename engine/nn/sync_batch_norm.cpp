#include "engine/nn/sync_batch_norm.h"

#include <stdexcept>

#include "engine/backends/backend.h"

namespace hdr {

void SyncBatchNorm::allocate(Backend& backend, int channels) {
  backend_ = &backend;
  channels_ = channels;
  scratch_ = DeviceArray<float>(backend, 2 * size_t(channels));
  batch_var_ = DeviceArray<float>(backend, size_t(channels));
  adjust_ = DeviceArray<float>(backend, 2 * size_t(channels));
  sums_ = DeviceArray<double>(backend, 2 * size_t(channels));
}

void SyncBatchNorm::sum_pack(const BatchSync& sync, const BatchNormGeometry& g, BnSyncPack kind, double weight,
                             const float* first, const float* second) {
  if (!backend_) throw std::logic_error("SyncBatchNorm: not allocated");
  if (g.n > 0)
    backend_->bn_sync_pack(
        {.g = g, .kind = kind, .weight = weight, .first = first, .second = second, .sums = sums_.data()});
  else
    sums_.zero();
  sync.exchange->sum_now(sums_.data(), sums_.size());
}

void SyncBatchNorm::combine_statistics(const BatchSync& sync, const BatchNormGeometry& g, float* running_mean,
                                       float* running_var, float* save_mean, float* save_inv_std) {
  sum_pack(sync, g, BnSyncPack::kStatistics, double(g.n) * g.spatial, save_mean, save_inv_std);
  backend_->bn_sync_combine({.g = g,
                             .total = double(sync.global_n) * g.spatial,
                             .sums = sums_.data(),
                             .running_mean = running_mean,
                             .running_var = running_var,
                             .save_mean = save_mean,
                             .save_inv_std = save_inv_std,
                             .batch_var = batch_var_.data()});
}

void SyncBatchNorm::adjust_input_grad(const BatchSync& sync, const BatchNormGeometry& g, Layout layout, const float* x,
                                      const float* gamma, const float* save_mean, const float* save_inv_std,
                                      const float* dgamma, const float* dbeta, float* dx) {
  sum_pack(sync, g, BnSyncPack::kGradients, double(g.n) / double(sync.global_n), dbeta, dgamma);
  if (g.n == 0 || !dx) return;
  float *a = adjust_.data(), *b = adjust_.data() + channels_;
  backend_->bn_sync_adjust({.g = g,
                            .sums = sums_.data(),
                            .gamma = gamma,
                            .inv_std = save_inv_std,
                            .dbeta = dbeta,
                            .dgamma = dgamma,
                            .a = a,
                            .b = b});
  backend_->bn_input_grad_adjust({.g = g, .layout = layout, .x = x, .mean = save_mean, .a = a, .b = b, .dx = dx});
}

}  // namespace hdr

// Synchronised batch norm ([train] sync_batchnorm in a data-parallel run): every rank normalises
// its slice with the statistics of the whole global batch and back-propagates through them, so
// that N ranks compute what one process with the global batch computes, up to the order of the
// sums (torch.nn.SyncBatchNorm's semantics). By default each rank uses its own slice's
// statistics, as PyTorch DDP does.
//
// Built on the backend's batch-norm ops, its per-channel bn_sync_* ops (kernels/bn_relu.cuh has
// the maths) and the gradient exchange's sum_now(): one buffer of 2 doubles per channel summed
// over the ranks per layer and direction, on the device and in its order where the exchange is
// NCCL (the host never waits), through the host and MPI on the CPU.
//   forward   the training op runs on the slice (its mean and 1/std, the running statistics
//             into scratch); bn_sync_pack, the sum, bn_sync_combine: the global mean, 1/std and
//             variance, the running statistics updated with them; the inference op then
//             applies them.
//   backward  the backward op runs on the slice with the global statistics; its dbeta and
//             dgamma, weighted by each rank's share of the batch, are summed over the ranks,
//             and dx moves from the slice's channel means to the global ones by a + b * (u - mean)
//             per channel (bn_sync_adjust, then Backend::bn_input_grad_adjust).
// dgamma and dbeta themselves stay the slice's: the gradient exchange sums them as it sums every
// other gradient. A rank with an empty slice still takes part in every sum.
#pragma once

#include "engine/backends/backend_args.h"
#include "engine/backends/device_array.h"
#include "engine/distributed/gradient_exchange.h"
#include "kernels/types.h"

namespace hdr {

class Backend;

// What a training pass of a data-parallel run with synchronised batch norm carries.
struct BatchSync {
  GradientExchange* exchange = nullptr;
  int global_n = 0;  // samples in the global batch; the pass's n is this rank's slice
};

// One batch-norm layer's share: device scratch for the sums and the global statistics.
class SyncBatchNorm {
 public:
  void allocate(Backend& backend, int channels);
  // Where the training op on the slice puts the running statistics it computes (thrown away).
  float* scratch_running_mean() { return scratch_.data(); }
  float* scratch_running_var() { return scratch_.data() + channels_; }
  // After the training op on the slice: save_mean / save_inv_std become the global batch's,
  // the running statistics are updated with them, and batch_var() holds the global variance
  // (what the inference op takes as its "running" variance to apply them).
  void combine_statistics(const BatchSync& sync, const BatchNormGeometry& g, float* running_mean, float* running_var,
                          float* save_mean, float* save_inv_std);
  const float* batch_var() const { return batch_var_.data(); }
  // After the backward op on the slice (with the global statistics): dx as the global batch's
  // channel means make it.
  // layout: of x and dx (Backend::activation_layout).
  void adjust_input_grad(const BatchSync& sync, const BatchNormGeometry& g, Layout layout, const float* x,
                         const float* gamma, const float* save_mean, const float* save_inv_std, const float* dgamma,
                         const float* dbeta, float* dx);

 private:
  // sums_ = this rank's pack (or zeros for an empty slice), then summed over the ranks.
  void sum_pack(const BatchSync& sync, const BatchNormGeometry& g, BnSyncPack kind, double weight, const float* first,
                const float* second);

  Backend* backend_ = nullptr;
  int channels_ = 0;
  DeviceArray<float> scratch_, batch_var_, adjust_;
  DeviceArray<double> sums_;
};

}  // namespace hdr

// CUDA launchers of the conv block's ops: batch norm + ReLU (kernels/bn_relu.cuh: a per-channel
// reduction over a fixed partition into the scratch the backend binds, then an element-wise
// pass; inference a 1/std per channel into that scratch, then element-wise), max
// pooling (kernels/maxpool.cuh: forward one thread per output, backward one thread per input, a
// gather, so dx is written whole without atomics) and the two fused, without the batch-norm
// output in memory (kernels/bn_relu_maxpool.cuh). One translation unit for the three: a .cuh
// defines its __global__ kernels, so each may be compiled into one .cu only. Geometry helpers
// live in the .cuh files, so the emulator tests launch exactly these shapes.
#include "kernels/bn_relu_maxpool.cuh"
#include "kernels/cuda_check.h"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {
constexpr int kBlock = 256;
static_assert(kBlock % 32 == 0 && kBlock <= 32 * kBnReluMaxWarps, "the reductions keep one shared slot per warp");

bool empty(const BatchNormGeometry& g) { return g.n == 0 || g.c == 0 || g.spatial == 0; }
bool empty(const BatchNormGeometry& g, const PoolGeometry& p) { return empty(g) || maxpool_out_count(p) <= 0; }
}  // namespace

// The reductions' partial sums (2 doubles per channel at least), or inference's 1/std (a float
// per channel).
size_t bn_relu_scratch_bytes(const BatchNormGeometry& g) {
  return size_t(bn_partials_count(g, bn_parts(g))) * sizeof(double);
}

namespace {
// The training statistics: save_mean/save_inv_std and the running statistics updated.
void bn_relu_stats(const BatchNormGeometry& g, const float* x, float* running_mean, float* running_var,
                   float* save_mean, float* save_inv_std) {
  const int parts = bn_parts(g);
  auto* partials = static_cast<double*>(scratch(bn_relu_scratch_bytes(g), "batch-norm statistics"));
  bn_relu_stats_partial_kernel<<<bn_partial_grid(g, parts), kBlock, 0, stream()>>>(g, parts, x, partials);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_stats_partial_kernel);
  bn_relu_stats_finish_kernel<<<bn_finish_grid(g, kBlock), kBlock, 0, stream()>>>(g, parts, x, partials, running_mean,
                                                                                  running_var, save_mean, save_inv_std);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_stats_finish_kernel);
}

// Inference's 1/std per channel, into the scratch.
const float* running_inv_std(const BatchNormGeometry& g, const float* running_var) {
  auto* inv_std = static_cast<float*>(scratch(bn_relu_scratch_bytes(g), "batch-norm inference"));
  bn_running_inv_std_kernel<<<bn_finish_grid(g, kBlock), kBlock, 0, stream()>>>(g, running_var, inv_std);
  HDR_CUDA_CHECK_LAUNCH(bn_running_inv_std_kernel);
  return inv_std;
}

// dbeta and dgamma: `launch_partials(parts, partials)` launches the partial kernel of the
// backward's dy source, then the finishing kernel adds the parts. m == 0 still runs both:
// dgamma and dbeta are written as zeros, as on the CPU.
template <class LaunchPartials>
void bn_relu_grad_sums(const BatchNormGeometry& g, LaunchPartials launch_partials, float* dgamma, float* dbeta) {
  const int parts = bn_parts(g);
  auto* partials = static_cast<double*>(scratch(bn_relu_scratch_bytes(g), "batch-norm backward"));
  launch_partials(parts, partials);
  bn_relu_grad_finish_kernel<<<bn_finish_grid(g, kBlock), kBlock, 0, stream()>>>(g, parts, partials, dgamma, dbeta);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_grad_finish_kernel);
}
}  // namespace

void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           float* running_mean, float* running_var, float* save_mean, float* save_inv_std, float* y) {
  if (empty(g)) return;
  bn_relu_stats(g, x, running_mean, running_var, save_mean, save_inv_std);
  bn_relu_apply_kernel<<<bn_relu_element_grid(g, kBlock), kBlock, 0, stream()>>>(g, x, gamma, beta, save_mean,
                                                                                 save_inv_std, y);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_apply_kernel);
}

void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           const float* running_mean, const float* running_var, float* y) {
  if (empty(g)) return;
  const float* inv_std = running_inv_std(g, running_var);
  bn_relu_infer_kernel<<<bn_relu_element_grid(g, kBlock), kBlock, 0, stream()>>>(g, x, gamma, beta, running_mean,
                                                                                 inv_std, y);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_infer_kernel);
}

void bn_input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a, const float* b,
                          float* dx) {
  if (empty(g)) return;
  bn_input_grad_adjust_kernel<<<bn_relu_element_grid(g, kBlock), kBlock, 0, stream()>>>(g, x, mean, a, b, dx);
  HDR_CUDA_CHECK_LAUNCH(bn_input_grad_adjust_kernel);
}

void bn_sync_pack(int c, BnSyncPack kind, double weight, float eps, const float* first, const float* second,
                  double* sums) {
  if (c == 0) return;
  bn_sync_pack_kernel<<<bn_channel_grid(c, kBlock), kBlock, 0, stream()>>>(c, kind, weight, eps, first, second, sums);
  HDR_CUDA_CHECK_LAUNCH(bn_sync_pack_kernel);
}

void bn_sync_combine(const BatchNormGeometry& g, double total, const double* sums, float* running_mean,
                     float* running_var, float* save_mean, float* save_inv_std, float* batch_var) {
  if (g.c == 0) return;
  bn_sync_combine_kernel<<<bn_finish_grid(g, kBlock), kBlock, 0, stream()>>>(g, total, sums, running_mean, running_var,
                                                                             save_mean, save_inv_std, batch_var);
  HDR_CUDA_CHECK_LAUNCH(bn_sync_combine_kernel);
}

void bn_sync_adjust(int c, double m, const double* sums, const float* gamma, const float* inv_std, const float* dbeta,
                    const float* dgamma, float* a, float* b) {
  if (c == 0) return;
  bn_sync_adjust_kernel<<<bn_channel_grid(c, kBlock), kBlock, 0, stream()>>>(c, m, sums, gamma, inv_std, dbeta, dgamma,
                                                                             a, b);
  HDR_CUDA_CHECK_LAUNCH(bn_sync_adjust_kernel);
}

void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                      const float* beta, const float* save_mean, const float* save_inv_std, float* dx, float* dgamma,
                      float* dbeta) {
  if (g.c == 0) return;
  bn_relu_grad_sums(
      g,
      [&](int parts, double* partials) {
        bn_relu_grad_partial_kernel<<<bn_partial_grid(g, parts), kBlock, 0, stream()>>>(
            g, parts, x, dy, gamma, beta, save_mean, save_inv_std, partials);
        HDR_CUDA_CHECK_LAUNCH(bn_relu_grad_partial_kernel);
      },
      dgamma, dbeta);
  if (empty(g)) return;
  bn_relu_input_grad_kernel<<<bn_relu_element_grid(g, kBlock), kBlock, 0, stream()>>>(g, x, dy, gamma, beta, save_mean,
                                                                                      save_inv_std, dgamma, dbeta, dx);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_input_grad_kernel);
}

void maxpool_forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax) {
  if (maxpool_out_count(g) <= 0) return;
  maxpool_forward_kernel<<<maxpool_forward_grid(g, kBlock), kBlock, 0, stream()>>>(g, x, y, argmax);
  HDR_CUDA_CHECK_LAUNCH(maxpool_forward_kernel);
}

void maxpool_backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx) {
  if (maxpool_in_count(g) <= 0) return;
  maxpool_backward_kernel<<<maxpool_backward_grid(g, kBlock), kBlock, 0, stream()>>>(g, dy, argmax, dx);
  HDR_CUDA_CHECK_LAUNCH(maxpool_backward_kernel);
}

void bn_relu_maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                   const float* gamma, const float* beta, float* running_mean, float* running_var,
                                   float* save_mean, float* save_inv_std, float* y, int32_t* argmax) {
  if (empty(g, p)) return;
  bn_relu_stats(g, x, running_mean, running_var, save_mean, save_inv_std);
  bn_relu_maxpool_apply_kernel<<<maxpool_forward_grid(p, kBlock), kBlock, 0, stream()>>>(
      g, p, x, gamma, beta, save_mean, save_inv_std, y, argmax);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_maxpool_apply_kernel);
}

void bn_relu_maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                   const float* gamma, const float* beta, const float* running_mean,
                                   const float* running_var, float* y, int32_t* argmax) {
  if (empty(g, p)) return;
  const float* inv_std = running_inv_std(g, running_var);
  bn_relu_maxpool_infer_kernel<<<maxpool_forward_grid(p, kBlock), kBlock, 0, stream()>>>(
      g, p, x, gamma, beta, running_mean, inv_std, y, argmax);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_maxpool_infer_kernel);
}

void bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x, const float* dy,
                              const int32_t* argmax, const float* gamma, const float* beta, const float* save_mean,
                              const float* save_inv_std, float* dx, float* dgamma, float* dbeta) {
  if (g.c == 0) return;
  bn_relu_grad_sums(
      g,
      [&](int parts, double* partials) {
        bn_relu_maxpool_grad_partial_kernel<<<bn_partial_grid(g, parts), kBlock, 0, stream()>>>(
            g, parts, p, x, dy, argmax, gamma, beta, save_mean, save_inv_std, partials);
        HDR_CUDA_CHECK_LAUNCH(bn_relu_maxpool_grad_partial_kernel);
      },
      dgamma, dbeta);
  if (g.n == 0 || g.spatial == 0) return;
  bn_relu_maxpool_input_grad_kernel<<<bn_relu_element_grid(g, kBlock), kBlock, 0, stream()>>>(
      g, p, x, dy, argmax, gamma, beta, save_mean, save_inv_std, dgamma, dbeta, dx);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_maxpool_input_grad_kernel);
}

}  // namespace hdr::cuda

// CUDA launchers of kernels/bn_relu.cuh: training forward and backward are a per-channel
// reduction (one block per channel) followed by an element-wise pass; inference is element-wise.
// The geometry helpers live in the .cuh, so the emulator tests launch exactly these shapes.
#include "kernels/bn_relu.cuh"
#include "kernels/cuda_check.h"
#include "kernels/ops.h"

namespace hdr::cuda {
namespace {
constexpr int kBlock = 256;
static_assert(kBlock % 32 == 0 && kBlock <= 32 * kBnReluMaxWarps, "the reductions keep one shared slot per warp");

bool empty(const BatchNormGeometry& g) { return g.n == 0 || g.c == 0 || g.spatial == 0; }
}  // namespace

void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           float* running_mean, float* running_var, float* save_mean, float* save_inv_std,
                           float* y) {
  if (empty(g)) return;
  bn_relu_stats_kernel<<<bn_relu_channel_grid(g), kBlock, 0, stream()>>>(g, x, running_mean, running_var, save_mean,
                                                                         save_inv_std);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_stats_kernel);
  bn_relu_apply_kernel<<<bn_relu_element_grid(g, kBlock), kBlock, 0, stream()>>>(g, x, gamma, beta, save_mean,
                                                                                 save_inv_std, y);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_apply_kernel);
}

void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           const float* running_mean, const float* running_var, float* y) {
  if (empty(g)) return;
  bn_relu_infer_kernel<<<bn_relu_element_grid(g, kBlock), kBlock, 0, stream()>>>(g, x, gamma, beta, running_mean,
                                                                                 running_var, y);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_infer_kernel);
}

void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                      const float* beta, const float* save_mean, const float* save_inv_std, float* dx,
                      float* dgamma, float* dbeta) {
  if (g.c == 0) return;
  // m == 0 still launches the sums: dgamma and dbeta are written as zeros, as on the CPU.
  bn_relu_grad_sums_kernel<<<bn_relu_channel_grid(g), kBlock, 0, stream()>>>(g, x, dy, gamma, beta, save_mean,
                                                                              save_inv_std, dgamma, dbeta);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_grad_sums_kernel);
  if (empty(g)) return;
  bn_relu_input_grad_kernel<<<bn_relu_element_grid(g, kBlock), kBlock, 0, stream()>>>(
      g, x, dy, gamma, beta, save_mean, save_inv_std, dgamma, dbeta, dx);
  HDR_CUDA_CHECK_LAUNCH(bn_relu_input_grad_kernel);
}

}  // namespace hdr::cuda

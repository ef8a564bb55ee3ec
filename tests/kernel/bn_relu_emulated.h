// The batch-norm reductions of kernels/bn_relu.cuh launched as kernels/conv_block.cu launches
// them, in the CUDA emulation: a partial kernel over a parts x c grid into a scratch filled with
// NaN (so a slice no block wrote shows), then the finishing kernel, one thread per channel.
#pragma once

#include "kernels/simt_host.h"
// simt_host.h first: it enables the __global__ kernels of the .cuh.
#include "kernels/bn_relu.cuh"

#include <cmath>
#include <vector>

namespace hdr::test {

// save_mean, save_inv_std and the running statistics updated.
inline void emulated_stats(const BatchNormGeometry& g, int block, int parts, const float* x, float* running_mean,
                           float* running_var, float* save_mean, float* save_inv_std) {
  std::vector<double> partials(size_t(bn_partials_count(g, parts)), NAN);
  simt::launch(bn_partial_grid(g, parts), dim3{unsigned(block)}, bn_relu_stats_partial_kernel, g, parts, x,
               partials.data());
  simt::launch(bn_finish_grid(g, block), dim3{unsigned(block)}, bn_relu_stats_finish_kernel, g, parts, x,
               static_cast<const double*>(partials.data()), running_mean, running_var, save_mean, save_inv_std);
}

// dgamma and dbeta through `partial_kernel` (the plain or the pooled backward's), called with
// g, parts, args..., then the scratch.
template <class Kernel, class... Args>
void emulated_grad_sums(const BatchNormGeometry& g, int block, int parts, float* dgamma, float* dbeta,
                        Kernel partial_kernel, Args... args) {
  std::vector<double> partials(size_t(bn_partials_count(g, parts)), NAN);
  simt::launch(bn_partial_grid(g, parts), dim3{unsigned(block)}, partial_kernel, g, parts, args..., partials.data());
  simt::launch(bn_finish_grid(g, block), dim3{unsigned(block)}, bn_relu_grad_finish_kernel, g, parts,
               static_cast<const double*>(partials.data()), dgamma, dbeta);
}

}  // namespace hdr::test

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
#include "kernels/relu.cuh"
#include "kernels/types.h"

namespace hdr {

// u: the value batch norm sees.
HDR_HD inline float bn_input(float x, BnActivation act) { return act == BnActivation::kReluBefore ? relu(x) : x; }

// 1 / sqrt(var + eps), taken in double so that tiny variances keep their digits.
HDR_HD inline float bn_inv_std(double var_biased, float eps) {
  return static_cast<float>(1.0 / std::sqrt(var_biased + static_cast<double>(eps)));
}

HDR_HD inline float bn_scale(float gamma, float inv_std) { return gamma * inv_std; }

// y of one value.
HDR_HD inline float bn_relu_value(float x, float mean, float scale, float beta, BnActivation act) {
  const float z = (bn_input(x, act) - mean) * scale + beta;
  return act == BnActivation::kReluAfter ? relu(z) : z;
}

// Running statistics (Keras): running = momentum * running + (1 - momentum) * batch. The
// variance fed in is the unbiased one, var * m / (m - 1); a single value (m = 1) keeps var.
HDR_HD inline double bn_unbiased_var(double var_biased, int64_t m) {
  return m > 1 ? var_biased * static_cast<double>(m) / static_cast<double>(m - 1) : var_biased;
}
HDR_HD inline float bn_running_update(float running, double batch, float momentum) {
  return static_cast<float>(momentum * static_cast<double>(running) + (1.0 - momentum) * batch);
}

// dy seen by batch norm: zero where the ReLU after it clipped.
HDR_HD inline float bn_effective_dy(float x, float dy, float mean, float scale, float beta, BnActivation act) {
  return act == BnActivation::kReluAfter && !(bn_relu_value(x, mean, scale, beta, act) > 0.0f) ? 0.0f : dy;
}

HDR_HD inline float bn_xhat(float x, float mean, float inv_std, BnActivation act) {
  return (bn_input(x, act) - mean) * inv_std;
}

// dx of one value, from the channel means of dy_eff (dbeta / m) and dy_eff * xhat (dgamma / m).
HDR_HD inline float bn_relu_input_grad(float x, float dy_eff, float xhat, float scale, float mean_dy,
                                       float mean_dy_xhat, BnActivation act) {
  const float du = scale * (dy_eff - mean_dy - xhat * mean_dy_xhat);
  return act == BnActivation::kReluBefore && !(x > 0.0f) ? 0.0f : du;
}

}  // namespace hdr

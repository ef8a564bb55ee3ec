// The Backend ops with a default: fused ops run as their parts, through the caller's scratch.
#include "engine/backend.h"

namespace hdr {

void Backend::bn_relu_maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                            const float* gamma, const float* beta, float* running_mean,
                                            float* running_var, float* save_mean, float* save_inv_std, float* bn_out,
                                            float* y, int32_t* argmax) {
  bn_relu_forward_train(g, x, gamma, beta, running_mean, running_var, save_mean, save_inv_std, bn_out);
  maxpool_forward(p, bn_out, y, argmax);
}

void Backend::bn_relu_maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                            const float* gamma, const float* beta, const float* running_mean,
                                            const float* running_var, float* bn_out, float* y, int32_t* argmax) {
  bn_relu_forward_infer(g, x, gamma, beta, running_mean, running_var, bn_out);
  maxpool_forward(p, bn_out, y, argmax);
}

void Backend::bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                       const float* dy, const int32_t* argmax, const float* gamma, const float* beta,
                                       const float* save_mean, const float* save_inv_std, float* d_bn_out, float* dx,
                                       float* dgamma, float* dbeta) {
  maxpool_backward(p, dy, argmax, d_bn_out);
  bn_relu_backward(g, x, d_bn_out, gamma, beta, save_mean, save_inv_std, dx, dgamma, dbeta);
}

}  // namespace hdr

// The signatures of the fused conv-block ops, batch norm + ReLU then max pooling, included
// inside namespace hdr::cuda (kernels/ops.h; the CPU's are blocked::BatchNorm's maxpool_*,
// kernels/cpu/blocked.h): no include guard, no includes, declarations only. y and argmax are what bn_relu_forward_*
// then maxpool_forward give (argmax indexes the batch-norm output, laid out like x; null: not
// written), without writing that output; backward takes the pooled gradient dy and gives dx, dgamma, dbeta as
// maxpool_backward then bn_relu_backward would.
void bn_relu_maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                   const float* gamma, const float* beta, float* running_mean, float* running_var,
                                   float* save_mean, float* save_inv_std, float* y, int32_t* argmax);
void bn_relu_maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                   const float* gamma, const float* beta, const float* running_mean,
                                   const float* running_var, float* y, int32_t* argmax);
void bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x, const float* dy,
                              const int32_t* argmax, const float* gamma, const float* beta, const float* save_mean,
                              const float* save_inv_std, float* dx, float* dgamma, float* dbeta);

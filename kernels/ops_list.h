// The signatures of the hand-written ops, included inside namespace hdr::cpu and hdr::cuda by
// kernels/ops.h (and nowhere else): no include guard, no includes, declarations only.
// --- augment (kernels/augment.cuh) --------------------------------------------------------
// Builds a float batch n x 1 x h x w from the uint8 images (count x h x w) at dataset rows
// indices[0..n): a random affine per image, keyed by (key, indices[i]), then scaling.
void augment(const AugmentParams& p, const RandomKey& key, const uint8_t* images, int h, int w, const int32_t* indices,
             int n, float* out);

// out[i] = labels[indices[i]] for the batch's slice of the shuffled index (kernels/labels.cu:
// Thrust's gather).
void gather_labels(const uint8_t* labels, const int32_t* indices, int n, uint8_t* out);

// How many of values[0, count) are NaN or infinite (kernels/non_finite.cu: Thrust's count_if);
// returns once the count is known.
int64_t count_non_finite(const float* values, int64_t count);

// --- batch norm + ReLU (kernels/bn_relu.cuh) ---------------------------------------------
// Training: batch statistics per channel; updates running_mean/var (unbiased variance) and
// saves mean and 1/sqrt(var + eps) for backward.
void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           float* running_mean, float* running_var, float* save_mean, float* save_inv_std, float* y);
// Inference: running statistics.
void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                           const float* running_mean, const float* running_var, float* y);
// Gradients for x, gamma and beta (dgamma/dbeta are written, not accumulated).
void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                      const float* beta, const float* save_mean, const float* save_inv_std, float* dx, float* dgamma,
                      float* dbeta);
// dx += a[c] + b[c] * (u - mean[c]) per value of channel c (0 where a ReLU before batch norm
// clipped x): how synchronised batch norm moves a backward pass to the global batch's channel
// means.
void bn_input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a, const float* b,
                          float* dx);
// Synchronised batch norm's per-channel steps around the ranks' all-reduce of sums (2c doubles:
// S0 then S1), bn_sync_*_channel: pack a rank's statistics or gradients; combine the summed
// statistics into the global mean, 1/std and variance and the running statistics; the a and b
// of bn_input_grad_adjust from the summed gradients.
void bn_sync_pack(int c, BnSyncPack kind, double weight, float eps, const float* first, const float* second,
                  double* sums);
void bn_sync_combine(const BatchNormGeometry& g, double total, const double* sums, float* running_mean,
                     float* running_var, float* save_mean, float* save_inv_std, float* batch_var);
void bn_sync_adjust(int c, double m, const double* sums, const float* gamma, const float* inv_std, const float* dbeta,
                    const float* dgamma, float* a, float* b);

// --- ReLU and bias for layers without batch norm (kernels/relu.cuh, cpu/relu.cpp) -------------
void relu_forward(int64_t count, const float* x, float* y);
void relu_backward(int64_t count, const float* y, const float* dy, float* dx);  // y: the forward output
// y (rows x cols) += bias (cols); db (cols) = column sums of dy.
void bias_add(int rows, int cols, const float* bias, float* y);
void bias_grad(int rows, int cols, const float* dy, float* db);

// --- dropout (kernels/dropout.cuh) ----------------------------------------------------------
// n samples of c x spatial values; the element of logical index j = c * spatial + s of sample i is
// kept when uniform >= rate, keyed by (key, first_sample + i, j). Kept values are scaled by
// 1 / (1 - rate). keep_bits (dropout_keep_bytes(n, c * spatial) bytes) carries the decisions from
// forward to backward on the CPU: its forward writes them, its backward reads them (ignoring key
// and first_sample; any layout, the bits are in memory order). The GPU recomputes them from the
// key in backward and leaves keep_bits alone. The blocked forward (kernels/cpu/blocked.h) and the
// backend ops (engine/backends/backend_args.h) take the same shape.
void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial, const float* x,
                     float* y, uint8_t* keep_bits);
void dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                      const uint8_t* keep_bits, const float* dy, float* dx);

// --- max pooling (kernels/maxpool.cuh) --------------------------------------------------------
// argmax[i] = the index (row * w + col) within its (n, c) plane of the maximum that produced y[i]
// (the first one on ties); forward leaves it out where argmax is null (inference: only backward
// reads it).
void maxpool_forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax);
void maxpool_backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx);  // writes all of dx

// --- softmax + cross-entropy (kernels/softmax_xent.cuh) -----------------------------------------
// With label smoothing s the target is q = (1 - s) * onehot(label) + s / classes:
// dlogits = (softmax(logits) - q) / n. metrics[0] += summed loss -sum_k q_k log softmax_k,
// metrics[1] += number of rows whose argmax equals the label.
void softmax_xent(int n, int classes, const float* logits, const uint8_t* labels, float smoothing, float* dlogits,
                  double* metrics);
void softmax(int n, int classes, const float* logits, float* probs);
// confusion[label * classes + argmax] += 1 for each row; metrics as in softmax_xent (loss, correct).
void evaluate_batch(int n, int classes, const float* logits, const uint8_t* labels, int64_t* confusion,
                    double* metrics);

// --- optimizer (kernels/optimizer.cuh) ------------------------------------------------------------
// One update over every segment of the flat buffers; step is 1-based (Adam bias correction).
// segments is a host array on every backend (it is layout, not data).
// SGD keeps its velocity in m; v is unused then.
void optimizer_update(const OptimizerParams& p, float lr, int64_t step, const ParamSegment* segments, int num_segments,
                      float* params, const float* grads, float* m, float* v);
// average[i] += (1 - decay) * (params[i] - average[i]) for i < count: the exponential moving
// average of the weights ([train] ema).
void weight_average(int64_t count, float decay, const float* params, float* average);

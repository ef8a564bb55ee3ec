// The interface the layers call. A backend owns device memory and runs every op of a training
// step on its device; the CPU backend (oneDNN + kernels/cpu) and the CUDA backend (cuDNN,
// cuBLAS + kernels/*.cu) implement it with the same semantics, so results can be compared op
// by op. Pointers passed to an op live on the backend's device. Tensors are float NCHW.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/distributed/gradient_exchange.h"
#include "kernels/types.h"

namespace hdr {

class Communicator;

// How a model will use a convolution geometry, so that a backend plans only what runs.
struct ConvUse {
  bool bias = true;         // forward adds a bias; backward-weights writes its gradient
  bool backward = false;    // training: backward-weights
  bool input_grad = false;  // training, past the first layer: backward-data
};

// Device time of ops, for profiles (engine/profile/profiling_backend.h): start() and stop() bracket one
// op as the device runs it, without waiting for it; collect() waits for the device and returns
// the seconds of each interval since the last collect, in order.
class OpTimer {
 public:
  virtual ~OpTimer() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  virtual std::vector<double> collect() = 0;
};

// The roofs a profile's ops are set against, each with where its figure comes from.
struct DevicePeaks {
  double fp32_gflops = 0;  // FMA throughput
  std::string fp32_source;
  double memory_gbs = 0;  // main memory (DRAM / HBM)
  std::string memory_source;
  double cache_gbs = 0;  // a working set that fits the L2 cache; 0 where not measured
  std::string cache_source;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu (oneDNN 2.6.3, 2 threads)", "cuda:0 (NVIDIA H100 ...)"

  // Memory. allocate() is for set-up only: nothing allocates inside the step loop.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p) = 0;
  virtual void upload(void* device_dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* device_src, size_t bytes) = 0;
  virtual void fill_zero(void* p, size_t bytes) = 0;
  virtual void synchronize() {}
  // Makes the calling thread compute as this backend is set up to (the CPU backend: its OpenMP
  // thread count, which is per thread; CUDA: its device and stream). A thread other than the
  // one that made the backend calls it before the first op.
  virtual void attach_thread() {}

  // Plans made ahead: a model calls these for every shape it will run (Model::prepare, before a
  // run's first step), so that a backend creates its convolution primitives or algorithms and
  // its scratch then, not inside the first step, evaluation or partial batch. An op whose
  // shape was never prepared still works: it plans at its first call.
  virtual void prepare_convolution(const ConvGeometry&, const ConvUse&) {}
  virtual void prepare_batch_norm(const BatchNormGeometry&) {}
  // The plans held (one per convolution primitive, or per cuDNN geometry): a test checks that the
  // steps of a prepared model add none.
  virtual size_t plan_count() const { return 0; }

  // Profiling. The default timer reads the host clock between synchronize() calls: exact for a
  // backend whose ops return finished (the CPU's); the CUDA backend records events instead.
  virtual std::unique_ptr<OpTimer> make_op_timer();
  // Benchmarks: evicts what the device's caches hold (the GPU's L2), so the next op starts cold.
  virtual void flush_caches() {}
  // Measures (or, where it cannot, reads from the device) the peaks above: takes about a second.
  virtual DevicePeaks measure_peaks() = 0;

  // Data-parallel runs: how this backend's gradients are summed over the ranks
  // (engine/distributed/gradient_exchange.h). The default goes through the host and the communicator; the
  // CUDA backend uses NCCL where the build has it.
  virtual std::unique_ptr<GradientExchange> make_gradient_exchange(Communicator& communicator);

  // Row-major C (m x n) = alpha * op(A) * op(B) + beta * C, op(A) m x k, op(B) k x n; leading
  // dimensions are the natural ones (A: trans_a ? m : k, B: trans_b ? k : n, C: n).
  virtual void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, const float* b,
                    float beta, float* c) = 0;

  // Convolution (cross-correlation, as every framework computes it). Weights k x c x kh x kw,
  // bias k (may be null). Backward-weights writes dw and, when dbias is not null, dbias.
  virtual void conv_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) = 0;
  virtual void conv_backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx) = 0;
  virtual void conv_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw,
                                     float* dbias) = 0;

  // The hand-written ops: same meaning as their declarations in kernels/ops.h. A backend may keep
  // 4-D activations in its own layout (the CPU one: nChw16c, kernels/cpu/nchw16c.h); every op
  // that sees them knows it, and flatten_* is where they become plain rows.
  virtual void augment(const AugmentParams& p, const RandomKey& key, const uint8_t* images, int h, int w,
                       const int32_t* indices, int n, float* out) = 0;
  virtual void gather_labels(const uint8_t* labels, const int32_t* indices, int n, uint8_t* out) = 0;
  virtual void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma,
                                     const float* beta, float* running_mean, float* running_var, float* save_mean,
                                     float* save_inv_std, float* y) = 0;
  virtual void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma,
                                     const float* beta, const float* running_mean, const float* running_var,
                                     float* y) = 0;
  virtual void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                                const float* beta, const float* save_mean, const float* save_inv_std, float* dx,
                                float* dgamma, float* dbeta) = 0;
  // dx += a[c] + b[c] * (u - mean[c]) (synchronised batch norm, engine/nn/sync_batch_norm.h).
  virtual void bn_input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a,
                            const float* b, float* dx) = 0;
  // Batch norm + ReLU then max pooling (seed 000's conv blocks), fused where a backend can: the
  // results are exactly those of bn_relu_forward_* then maxpool_forward (and of maxpool_backward
  // then bn_relu_backward, from the pooled gradient dy). bn_out / d_bn_out are scratch of the
  // batch-norm output's size a backend may use; the defaults run the two ops through them.
  virtual void bn_relu_maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                             const float* gamma, const float* beta, float* running_mean,
                                             float* running_var, float* save_mean, float* save_inv_std,
                                             float* bn_out, float* y, int32_t* argmax);
  virtual void bn_relu_maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                             const float* gamma, const float* beta, const float* running_mean,
                                             const float* running_var, float* bn_out, float* y, int32_t* argmax);
  virtual void bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                        const float* dy, const int32_t* argmax, const float* gamma,
                                        const float* beta, const float* save_mean, const float* save_inv_std,
                                        float* d_bn_out, float* dx, float* dgamma, float* dbeta);
  virtual void relu_forward(int64_t count, const float* x, float* y) = 0;
  virtual void relu_backward(int64_t count, const float* y, const float* dy, float* dx) = 0;
  virtual void bias_add(int rows, int cols, const float* bias, float* y) = 0;
  virtual void bias_grad(int rows, int cols, const float* dy, float* db) = 0;
  // Dropout over n samples of c x spatial values (the logical element index c * spatial + s keys
  // the mask, whatever the backend's memory layout).
  virtual void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                               const float* x, float* y) = 0;
  virtual void dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                                const float* dy, float* dx) = 0;
  // Flatten n x c x spatial activations into n rows of c * spatial values in NCHW order (and the
  // gradient back): a copy where activations are NCHW, a layout change where they are not.
  virtual void flatten_forward(int n, int c, int64_t spatial, const float* x, float* y) = 0;
  virtual void flatten_backward(int n, int c, int64_t spatial, const float* dy, float* dx) = 0;
  virtual void maxpool_forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax) = 0;
  virtual void maxpool_backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx) = 0;
  virtual void softmax_xent(int n, int classes, const float* logits, const uint8_t* labels, float smoothing,
                            float* dlogits, double* metrics) = 0;
  virtual void softmax(int n, int classes, const float* logits, float* probs) = 0;
  virtual void evaluate_batch(int n, int classes, const float* logits, const uint8_t* labels, int64_t* confusion,
                              double* metrics) = 0;
  virtual void optimizer_update(const OptimizerParams& p, float lr, int64_t step, const ParamSegment* segments,
                                int num_segments, float* params, const float* grads, float* m, float* v) = 0;
  virtual void weight_average(int64_t count, float decay, const float* params, float* average) = 0;
};

// The CPU backend: oneDNN for convolutions and GEMM, kernels/cpu for the rest, one OpenMP pool
// of `threads` threads (0: all cores) shared by both.
std::unique_ptr<Backend> make_cpu_backend(int threads = 0);

// The CUDA backend on GPU `device` (cuDNN, cuBLAS, kernels/*.cu). Throws InputError with one line
// naming the reason when there is no usable GPU, or when this build has no CUDA backend.
std::unique_ptr<Backend> make_cuda_backend(int device);

}  // namespace hdr

// A Backend that runs every op on another one and, while a scope is set, times it there
// (OpTimer: the host clock on the CPU, CUDA events on the GPU, never a host clock around
// asynchronous launches) and adds the sample to the op's row: (scope, op, shape), with the op's
// FLOPs and bytes per call (engine/profile/op_cost.h). `hdr bench kernels` runs training steps on one
// with caches flushed between ops; `hdr train --profile` runs a whole training on one, where it
// costs two clock reads and a row lookup per op. The model and the training step set the scopes
// (Model / TrainStep::attach_profile); ops outside a scope (evaluation) run untimed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/profile/op_cost.h"

namespace hdr {

struct OpRow {
  std::string scope, op, shape;  // "conv2d_1 backward", "conv_backward_weights", "64x1x28x28 * 32x1x3x3 s1 p0"
  OpCost cost;                   // per call
  std::vector<double> seconds;   // every timed call's
  double total_seconds() const;
  double percentile(double q) const;  // q in [0, 1], of the calls' seconds
};

class ProfilingBackend final : public Backend {
 public:
  // flush_caches: Backend::flush_caches() before each timed op (benchmarks: every op starts cold).
  explicit ProfilingBackend(Backend& inner, bool flush_caches = false);

  // Ops from now on are timed under `scope` ("" = untimed).
  void set_scope(std::string scope) { scope_ = std::move(scope); }
  // The end of a training step: counts it and leaves the scope empty.
  void end_step();
  int64_t steps() const { return steps_; }
  // The rows in the order their first call ran, every pending timing collected.
  const std::vector<OpRow>& rows();
  void clear();

  std::string name() const override { return inner_.name(); }
  void* allocate(size_t bytes) override { return inner_.allocate(bytes); }
  void deallocate(void* p) override { inner_.deallocate(p); }
  void upload(void* dst, const void* src, size_t bytes) override { inner_.upload(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { inner_.download(dst, src, bytes); }
  void fill_zero(void* p, size_t bytes) override { inner_.fill_zero(p, bytes); }
  void synchronize() override { inner_.synchronize(); }
  void attach_thread() override { inner_.attach_thread(); }
  void prepare_convolution(const ConvGeometry& g, const ConvUse& use) override { inner_.prepare_convolution(g, use); }
  void prepare_batch_norm(const BatchNormGeometry& g) override { inner_.prepare_batch_norm(g); }
  size_t plan_count() const override { return inner_.plan_count(); }
  std::unique_ptr<OpTimer> make_op_timer() override { return inner_.make_op_timer(); }
  void flush_caches() override { inner_.flush_caches(); }
  DevicePeaks measure_peaks() override { return inner_.measure_peaks(); }

  void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, const float* b,
            float beta, float* c) override;
  void conv_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) override;
  void conv_backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx) override;
  void conv_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw,
                             float* dbias) override;
  void augment(const AugmentParams& p, const RandomKey& key, const uint8_t* images, int h, int w,
               const int32_t* indices, int n, float* out) override;
  void gather_labels(const uint8_t* labels, const int32_t* indices, int n, uint8_t* out) override;
  void bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                             float* running_mean, float* running_var, float* save_mean, float* save_inv_std,
                             float* y) override;
  void bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var, float* y) override;
  void bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy, const float* gamma,
                        const float* beta, const float* save_mean, const float* save_inv_std, float* dx,
                        float* dgamma, float* dbeta) override;
  std::unique_ptr<GradientExchange> make_gradient_exchange(Communicator& communicator) override {
    return inner_.make_gradient_exchange(communicator);
  }
  void bn_input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a,
                            const float* b, float* dx) override;
  void bn_relu_maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                     const float* gamma, const float* beta, float* running_mean, float* running_var,
                                     float* save_mean, float* save_inv_std, float* bn_out, float* y,
                                     int32_t* argmax) override;
  void bn_relu_maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                     const float* gamma, const float* beta, const float* running_mean,
                                     const float* running_var, float* bn_out, float* y, int32_t* argmax) override;
  void bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x, const float* dy,
                                const int32_t* argmax, const float* gamma, const float* beta, const float* save_mean,
                                const float* save_inv_std, float* d_bn_out, float* dx, float* dgamma,
                                float* dbeta) override;
  void relu_forward(int64_t count, const float* x, float* y) override;
  void relu_backward(int64_t count, const float* y, const float* dy, float* dx) override;
  void bias_add(int rows, int cols, const float* bias, float* y) override;
  void bias_grad(int rows, int cols, const float* dy, float* db) override;
  void dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                       const float* x, float* y) override;
  void dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c, int64_t spatial,
                        const float* dy, float* dx) override;
  void flatten_forward(int n, int c, int64_t spatial, const float* x, float* y) override;
  void flatten_backward(int n, int c, int64_t spatial, const float* dy, float* dx) override;
  void maxpool_forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax) override;
  void maxpool_backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx) override;
  void softmax_xent(int n, int classes, const float* logits, const uint8_t* labels, float smoothing, float* dlogits,
                    double* metrics) override;
  void softmax(int n, int classes, const float* logits, float* probs) override;
  void evaluate_batch(int n, int classes, const float* logits, const uint8_t* labels, int64_t* confusion,
                      double* metrics) override;
  void optimizer_update(const OptimizerParams& p, float lr, int64_t step, const ParamSegment* segments,
                        int num_segments, float* params, const float* grads, float* m, float* v) override;
  void weight_average(int64_t count, float decay, const float* params, float* average) override;

 private:
  // Runs fn on the inner backend; inside a scope, times it into the row of (scope, op, shape()).
  template <class Shape, class Fn>
  void run(const char* op, Shape shape, OpCost cost, Fn fn);
  void collect();

  Backend& inner_;
  const bool flush_;
  std::unique_ptr<OpTimer> timer_;
  std::string scope_;
  int64_t steps_ = 0;
  std::vector<OpRow> rows_;
  std::map<std::string, size_t> index_;  // "scope|op|shape" -> rows_
  std::vector<size_t> pending_;          // the row of each timing the timer has not returned yet
};

}  // namespace hdr

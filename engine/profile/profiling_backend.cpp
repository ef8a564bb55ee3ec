#include "engine/profile/profiling_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hdr {
namespace {

// Timings the timer holds before they are read back: on the GPU a collect waits for the device,
// so it happens about once every 20 steps of a small CNN, not once per step.
constexpr size_t kMaxPending = 512;

}  // namespace

double OpRow::total_seconds() const { return std::accumulate(seconds.begin(), seconds.end(), 0.0); }

double OpRow::percentile(double q) const {
  if (seconds.empty()) return 0;
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const double at = q * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(at)), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (at - double(lo)) * (sorted[hi] - sorted[lo]);
}

ProfilingBackend::ProfilingBackend(Backend& inner, bool flush_caches)
    : inner_(inner), flush_(flush_caches), timer_(inner.make_op_timer()) {}

void ProfilingBackend::end_step() {
  ++steps_;
  scope_.clear();
  if (pending_.size() >= kMaxPending) collect();
}

const std::vector<OpRow>& ProfilingBackend::rows() {
  collect();
  return rows_;
}

void ProfilingBackend::clear() {
  collect();
  rows_.clear();
  index_.clear();
  steps_ = 0;
}

void ProfilingBackend::collect() {
  const std::vector<double> seconds = timer_->collect();
  for (size_t i = 0; i < seconds.size() && i < pending_.size(); ++i) rows_[pending_[i]].seconds.push_back(seconds[i]);
  pending_.clear();
}

template <class Shape, class Fn>
void ProfilingBackend::run(const char* op, Shape shape, OpCost cost, Fn fn) {
  if (scope_.empty()) return fn();
  const std::string text = shape();
  const std::string key = scope_ + '|' + op + '|' + text;
  auto [it, added] = index_.try_emplace(key, rows_.size());
  if (added) rows_.push_back(OpRow{scope_, op, text, cost, {}});
  if (flush_) inner_.flush_caches();
  timer_->start();
  fn();
  timer_->stop();
  pending_.push_back(it->second);
}

void ProfilingBackend::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                            const float* b, float beta, float* c) {
  run("gemm", [&] { return fmt::format("m{} n{} k{}{}{}", m, n, k, trans_a ? " A'" : "", trans_b ? " B'" : ""); },
      op_cost::gemm(m, n, k, beta), [&] { inner_.gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c); });
}

void ProfilingBackend::conv_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                                    float* y) {
  run("conv_forward", [&] { return shape_text(g); }, op_cost::conv_forward(g, bias != nullptr),
      [&] { inner_.conv_forward(g, x, w, bias, y); });
}

void ProfilingBackend::conv_backward_data(const ConvGeometry& g, const float* w, const float* dy, float* dx) {
  run("conv_backward_data", [&] { return shape_text(g); }, op_cost::conv_backward_data(g),
      [&] { inner_.conv_backward_data(g, w, dy, dx); });
}

void ProfilingBackend::conv_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw,
                                             float* dbias) {
  run("conv_backward_weights", [&] { return shape_text(g); }, op_cost::conv_backward_weights(g, dbias != nullptr),
      [&] { inner_.conv_backward_weights(g, x, dy, dw, dbias); });
}

void ProfilingBackend::augment(const AugmentParams& p, const RandomKey& key, const uint8_t* images, int h, int w,
                               const int32_t* indices, int n, float* out) {
  run("augment", [&] { return fmt::format("{}x1x{}x{}", n, h, w); }, op_cost::augment(n, h, w),
      [&] { inner_.augment(p, key, images, h, w, indices, n, out); });
}

void ProfilingBackend::gather_labels(const uint8_t* labels, const int32_t* indices, int n, uint8_t* out) {
  run("gather_labels", [&] { return fmt::format("{}", n); }, op_cost::gather_labels(n),
      [&] { inner_.gather_labels(labels, indices, n, out); });
}

void ProfilingBackend::bn_relu_forward_train(const BatchNormGeometry& g, const float* x, const float* gamma,
                                             const float* beta, float* running_mean, float* running_var,
                                             float* save_mean, float* save_inv_std, float* y) {
  run("bn_relu_forward_train", [&] { return shape_text(g); }, op_cost::bn_relu_forward_train(g), [&] {
    inner_.bn_relu_forward_train(g, x, gamma, beta, running_mean, running_var, save_mean, save_inv_std, y);
  });
}

void ProfilingBackend::bn_relu_forward_infer(const BatchNormGeometry& g, const float* x, const float* gamma,
                                             const float* beta, const float* running_mean, const float* running_var,
                                             float* y) {
  run("bn_relu_forward_infer", [&] { return shape_text(g); }, op_cost::bn_relu_forward_infer(g),
      [&] { inner_.bn_relu_forward_infer(g, x, gamma, beta, running_mean, running_var, y); });
}

void ProfilingBackend::bn_relu_backward(const BatchNormGeometry& g, const float* x, const float* dy,
                                        const float* gamma, const float* beta, const float* save_mean,
                                        const float* save_inv_std, float* dx, float* dgamma, float* dbeta) {
  run("bn_relu_backward", [&] { return shape_text(g); }, op_cost::bn_relu_backward(g), [&] {
    inner_.bn_relu_backward(g, x, dy, gamma, beta, save_mean, save_inv_std, dx, dgamma, dbeta);
  });
}

void ProfilingBackend::bn_input_grad_adjust(const BatchNormGeometry& g, const float* x, const float* mean, const float* a,
                            const float* b, float* dx) {
  run("bn_input_grad_adjust", [&] { return shape_text(g); }, op_cost::bn_input_grad_adjust(g),
      [&] { inner_.bn_input_grad_adjust(g, x, mean, a, b, dx); });
}

void ProfilingBackend::bn_relu_maxpool_forward_train(const BatchNormGeometry& g, const PoolGeometry& p,
                                                     const float* x, const float* gamma, const float* beta,
                                                     float* running_mean, float* running_var, float* save_mean,
                                                     float* save_inv_std, float* bn_out, float* y, int32_t* argmax) {
  run("bn_relu_maxpool_forward_train", [&] { return shape_text(p); }, op_cost::bn_relu_maxpool_forward(g, p, true),
      [&] {
        inner_.bn_relu_maxpool_forward_train(g, p, x, gamma, beta, running_mean, running_var, save_mean,
                                             save_inv_std, bn_out, y, argmax);
      });
}

void ProfilingBackend::bn_relu_maxpool_forward_infer(const BatchNormGeometry& g, const PoolGeometry& p,
                                                     const float* x, const float* gamma, const float* beta,
                                                     const float* running_mean, const float* running_var,
                                                     float* bn_out, float* y, int32_t* argmax) {
  run("bn_relu_maxpool_forward_infer", [&] { return shape_text(p); },
      op_cost::bn_relu_maxpool_forward(g, p, false), [&] {
        inner_.bn_relu_maxpool_forward_infer(g, p, x, gamma, beta, running_mean, running_var, bn_out, y, argmax);
      });
}

void ProfilingBackend::bn_relu_maxpool_backward(const BatchNormGeometry& g, const PoolGeometry& p, const float* x,
                                                const float* dy, const int32_t* argmax, const float* gamma,
                                                const float* beta, const float* save_mean, const float* save_inv_std,
                                                float* d_bn_out, float* dx, float* dgamma, float* dbeta) {
  run("bn_relu_maxpool_backward", [&] { return shape_text(p); }, op_cost::bn_relu_maxpool_backward(g, p), [&] {
    inner_.bn_relu_maxpool_backward(g, p, x, dy, argmax, gamma, beta, save_mean, save_inv_std, d_bn_out, dx, dgamma,
                                    dbeta);
  });
}

void ProfilingBackend::relu_forward(int64_t count, const float* x, float* y) {
  run("relu_forward", [&] { return fmt::format("{}", count); }, op_cost::relu_forward(count),
      [&] { inner_.relu_forward(count, x, y); });
}

void ProfilingBackend::relu_backward(int64_t count, const float* y, const float* dy, float* dx) {
  run("relu_backward", [&] { return fmt::format("{}", count); }, op_cost::relu_backward(count),
      [&] { inner_.relu_backward(count, y, dy, dx); });
}

void ProfilingBackend::bias_add(int rows, int cols, const float* bias, float* y) {
  run("bias_add", [&] { return fmt::format("{}x{}", rows, cols); }, op_cost::bias_add(rows, cols),
      [&] { inner_.bias_add(rows, cols, bias, y); });
}

void ProfilingBackend::bias_grad(int rows, int cols, const float* dy, float* db) {
  run("bias_grad", [&] { return fmt::format("{}x{}", rows, cols); }, op_cost::bias_grad(rows, cols),
      [&] { inner_.bias_grad(rows, cols, dy, db); });
}

void ProfilingBackend::dropout_forward(float rate, const RandomKey& key, int first_sample, int n, int c,
                                       int64_t spatial, const float* x, float* y) {
  run("dropout_forward", [&] { return fmt::format("{}x{}x{}", n, c, spatial); }, op_cost::dropout(n * c * spatial),
      [&] { inner_.dropout_forward(rate, key, first_sample, n, c, spatial, x, y); });
}

void ProfilingBackend::dropout_backward(float rate, const RandomKey& key, int first_sample, int n, int c,
                                        int64_t spatial, const float* dy, float* dx) {
  run("dropout_backward", [&] { return fmt::format("{}x{}x{}", n, c, spatial); }, op_cost::dropout(n * c * spatial),
      [&] { inner_.dropout_backward(rate, key, first_sample, n, c, spatial, dy, dx); });
}

void ProfilingBackend::flatten_forward(int n, int c, int64_t spatial, const float* x, float* y) {
  run("flatten_forward", [&] { return fmt::format("{}x{}x{}", n, c, spatial); }, op_cost::flatten(n * c * spatial),
      [&] { inner_.flatten_forward(n, c, spatial, x, y); });
}

void ProfilingBackend::flatten_backward(int n, int c, int64_t spatial, const float* dy, float* dx) {
  run("flatten_backward", [&] { return fmt::format("{}x{}x{}", n, c, spatial); }, op_cost::flatten(n * c * spatial),
      [&] { inner_.flatten_backward(n, c, spatial, dy, dx); });
}

void ProfilingBackend::maxpool_forward(const PoolGeometry& g, const float* x, float* y, int32_t* argmax) {
  run("maxpool_forward", [&] { return shape_text(g); }, op_cost::maxpool_forward(g),
      [&] { inner_.maxpool_forward(g, x, y, argmax); });
}

void ProfilingBackend::maxpool_backward(const PoolGeometry& g, const float* dy, const int32_t* argmax, float* dx) {
  run("maxpool_backward", [&] { return shape_text(g); }, op_cost::maxpool_backward(g),
      [&] { inner_.maxpool_backward(g, dy, argmax, dx); });
}

void ProfilingBackend::softmax_xent(int n, int classes, const float* logits, const uint8_t* labels, float smoothing,
                                    float* dlogits, double* metrics) {
  run("softmax_xent", [&] { return fmt::format("{}x{}", n, classes); }, op_cost::softmax_xent(n, classes),
      [&] { inner_.softmax_xent(n, classes, logits, labels, smoothing, dlogits, metrics); });
}

void ProfilingBackend::softmax(int n, int classes, const float* logits, float* probs) {
  run("softmax", [&] { return fmt::format("{}x{}", n, classes); }, op_cost::softmax(n, classes),
      [&] { inner_.softmax(n, classes, logits, probs); });
}

void ProfilingBackend::evaluate_batch(int n, int classes, const float* logits, const uint8_t* labels,
                                      int64_t* confusion, double* metrics) {
  run("evaluate_batch", [&] { return fmt::format("{}x{}", n, classes); }, op_cost::evaluate_batch(n, classes),
      [&] { inner_.evaluate_batch(n, classes, logits, labels, confusion, metrics); });
}

void ProfilingBackend::optimizer_update(const OptimizerParams& p, float lr, int64_t step,
                                        const ParamSegment* segments, int num_segments, float* params,
                                        const float* grads, float* m, float* v) {
  size_t count = 0;
  for (int i = 0; i < num_segments; ++i) count = std::max(count, segments[i].offset + segments[i].size);
  run("optimizer_update", [&] { return fmt::format("{} parameters", count); },
      op_cost::optimizer_update(p.kind, int64_t(count)),
      [&] { inner_.optimizer_update(p, lr, step, segments, num_segments, params, grads, m, v); });
}

void ProfilingBackend::weight_average(int64_t count, float decay, const float* params, float* average) {
  run("weight_average", [&] { return fmt::format("{}", count); }, op_cost::weight_average(count),
      [&] { inner_.weight_average(count, decay, params, average); });
}

}  // namespace hdr

// A Backend that runs every op on another one and, while a scope is set, times it there
// (OpTimer: the host clock on the CPU, CUDA events on the GPU, never a host clock around
// asynchronous launches) and adds the sample to the op's row: (scope, op, shape), with the op's
// FLOPs and bytes per call (engine/profile/op_cost.h). `hdr bench kernels` runs training steps on one
// with caches flushed between ops; `hdr train --profile` runs a whole training on one, where it
// costs two clock reads and a row lookup per op. The model and the training step set the scopes
// (Model / TrainStep::attach_profile); ops outside a scope (evaluation) run untimed. Not final:
// a test's backend derives from it to run one op of the inner backend another way.
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

class ProfilingBackend : public Backend {
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
  int64_t count_non_finite(const float* values, size_t count) override {
    return inner_.count_non_finite(values, count);
  }
  void attach_thread(int max_threads) override { inner_.attach_thread(max_threads); }
  void prepare_convolution(const ConvGeometry& g, const ConvUse& use) override { inner_.prepare_convolution(g, use); }
  void prepare_batch_norm(const BatchNormGeometry& g) override { inner_.prepare_batch_norm(g); }
  size_t plan_count() const override { return inner_.plan_count(); }
  double conv_multiply_adds(Op op, const ConvGeometry& g) const override { return inner_.conv_multiply_adds(op, g); }
  std::unique_ptr<OpTimer> make_op_timer() override { return inner_.make_op_timer(); }
  void flush_caches() override { inner_.flush_caches(); }
  DevicePeaks measure_peaks() override { return inner_.measure_peaks(); }

  Layout activation_layout(int c, int64_t spatial) const override { return inner_.activation_layout(c, spatial); }
  std::unique_ptr<GradientExchange> make_gradient_exchange(Communicator& communicator) override {
    return inner_.make_gradient_exchange(communicator);
  }

 protected:
  // Every op of engine/backends/backend_ops.h: runs it on the inner backend, timed inside a scope.
#define HDR_PROFILED_OP(name, Args, ...) void do_##name(const Args& a) override;
  HDR_BACKEND_OPS(HDR_PROFILED_OP)
#undef HDR_PROFILED_OP

 private:
  // Runs fn on the inner backend; inside a scope, times it into the row of (scope, op, shape()),
  // with the cost cost() (both only evaluated inside a scope).
  template <class Shape, class Cost, class Fn>
  void run(Op op, Shape shape, Cost cost, Fn fn);
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

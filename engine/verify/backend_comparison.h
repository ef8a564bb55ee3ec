// Two backends compared op by op with identical inputs: every op of the Backend interface at
// the shapes the networks use and at odd ones, then 20 steps of the trainer's own TrainStep.
// `hdr selftest` runs the whole catalogue (comparison_cases()) with the GPU as the backend under
// test and the CPU backend as the reference; the GPU tests register one GoogleTest case per
// entry; CI runs it between two CPU backends of different thread counts, so the catalogue
// itself is exercised without a GPU.
//
// Tolerances (|tested - reference| <= atol + rtol * |reference|, atol a fraction of the largest
// |reference| value of the output, because the rounding error of a sum scales with the sum's
// terms, not its result):
//   exact         0, 0          integers, copies, layout changes, max pooling, ReLU, bias add
//   elementwise   1e-7, 1e-6    one or two roundings per value (dropout scaling)
//   transcendental 1e-6, 1e-5   exp/log/sqrt per value (softmax, cross-entropy, optimizer)
//   resampling    1e-4, 1e-4    augment: sin/cos and the sample position differ by an ulp or
//                               two (FMA contraction), and bilinear sampling of a 0..255 image
//                               turns 1e-5 px into <= 1e-5 of the value range
//   reduction     2e-5, 1e-4    GEMM, convolutions, batch-norm statistics and gradients, bias
//                               gradient: 10^2..10^4-term fp32 sums added in another order
//   model step 1  1e-4, 1e-3    logits and every gradient after one forward/backward of cnn_bn:
//                               a dozen reductions chained; the gradients tensor by tensor,
//                               each atol from its own largest value
//   training      loss rtol 1e-3 per step; weights atol 5 x learning rate after 20 Adam steps
//                 (Adam moves a weight by about lr per step whatever the gradient's size, so a
//                 gradient that is zero up to rounding may step either way on the two devices;
//                 a wrong op shows in the losses long before that).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/backends/device_array.h"
#include "engine/core/splitmix64.h"
#include "engine/io/checkpoint.h"
#include "engine/verify/compare.h"

namespace hdr {

struct OpTolerance {
  double atol_of_max = 0, rtol = 0;
};
constexpr OpTolerance kExact{0, 0};
constexpr OpTolerance kElementwise{1e-7, 1e-6};
constexpr OpTolerance kTranscendental{1e-6, 1e-5};
constexpr OpTolerance kResampling{1e-4, 1e-4};
constexpr OpTolerance kReduction{2e-5, 1e-4};
constexpr OpTolerance kModelStep{1e-4, 1e-3};

// splitmix64: deterministic test data, the same on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() { return splitmix64_next(state_); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * float(next() >> 40) / float(1 << 24); }
  std::vector<float> floats(size_t count, float lo, float hi) {
    std::vector<float> v(count);
    for (float& x : v) x = uniform(lo, hi);
    return v;
  }
  std::vector<uint8_t> bytes(size_t count, int below) {
    std::vector<uint8_t> v(count);
    for (uint8_t& x : v) x = uint8_t(next() % uint64_t(below));
    return v;
  }

 private:
  uint64_t state_;
};

enum class Side { kGpu, kCpu };

// Side::kGpu is the backend under test, Side::kCpu the reference.
// An activation tensor of n x c x spatial values: each backend keeps it in its own layout (the
// CPU one blocks channels, engine/backends/backend.h), so it enters through flatten_backward and leaves
// through flatten_forward, which convert from and to plain NCHW.
struct ActivationDims {
  int n = 0, c = 0;
  int64_t spatial = 1;
  size_t size() const { return size_t(n) * size_t(c) * size_t(spatial); }
};

// The dimensions as backend `be` lays them out.
inline ActivationShape activation_shape(const Backend& be, const ActivationDims& a) {
  return ActivationShape{a.n, a.c, a.spatial, be.activation_layout(a.c, a.spatial)};
}

// One buffer with the same contents on both backends: plain, or an activation in each backend's
// layout.
template <class T>
class Twin {
 public:
  Twin(Backend& gpu, Backend& cpu, const std::vector<T>& host) : gpu_(gpu, host.size()), cpu_(cpu, host.size()) {
    gpu_.upload(host);
    cpu_.upload(host);
  }
  Twin(Backend& gpu, Backend& cpu, const std::vector<float>& nchw, ActivationDims a) requires std::is_same_v<T, float>
      : gpu_(gpu, nchw.size()), cpu_(cpu, nchw.size()), activation_(a) {
    for (Side s : {Side::kGpu, Side::kCpu}) {
      Backend& be = s == Side::kGpu ? gpu : cpu;
      DeviceArray<float> plain(be, nchw.size());
      plain.upload(nchw);
      be.flatten_backward({.shape = activation_shape(be, a), .dy = plain.data(), .dx = (*this)[s]});
      be.synchronize();  // plain is freed on return
    }
    backends_[0] = &gpu, backends_[1] = &cpu;
  }
  T* operator[](Side s) { return s == Side::kGpu ? gpu_.data() : cpu_.data(); }
  // The values in plain order (NCHW for an activation).
  std::vector<T> values(Side s) const {
    const DeviceArray<T>& a = s == Side::kGpu ? gpu_ : cpu_;
    if constexpr (std::is_same_v<T, float>) {
      if (activation_.n > 0) {
        Backend& be = *backends_[s == Side::kGpu ? 0 : 1];
        DeviceArray<float> plain(be, a.size());
        be.flatten_forward({.shape = activation_shape(be, activation_), .x = a.data(), .y = plain.data()});
        return plain.to_host();
      }
    }
    return a.to_host();
  }

 private:
  DeviceArray<T> gpu_, cpu_;
  ActivationDims activation_;
  Backend* backends_[2] = {};
};

template <class T>
std::vector<float> as_floats(const std::vector<T>& v) {
  return std::vector<float>(v.begin(), v.end());
}

class BackendComparison {
 public:
  // log: where each check's row goes (null: nowhere).
  BackendComparison(Backend& gpu, Backend& cpu, std::FILE* log) : gpu_(gpu), cpu_(cpu), log_(log) {}

  // Runs op on both backends: op(backend, side).
  template <class F>
  void both(F&& op) {
    op(gpu_, Side::kGpu);
    op(cpu_, Side::kCpu);
  }
  template <class T>
  Twin<T> twin(const std::vector<T>& host) {
    return Twin<T>(gpu_, cpu_, host);
  }
  Twin<float> activation(const std::vector<float>& nchw, ActivationDims a) { return Twin<float>(gpu_, cpu_, nchw, a); }

  template <class T>
  void check(const std::string& op, const std::string& output, const Twin<T>& t, OpTolerance tol) {
    check_values(op, output, as_floats(t.values(Side::kGpu)), as_floats(t.values(Side::kCpu)), tol);
  }
  void check_values(const std::string& op, const std::string& output, const std::vector<float>& got,
                    const std::vector<float>& want, OpTolerance tol);
  // check_values of each pair of same-named tensors, each with atol from its own largest value:
  // with one atol for all of a model's gradients, a parameter group far smaller than the
  // largest went unchecked (all zeros passed). A name or count mismatch is a failure.
  void check_tensors(const std::string& op, const std::string& output, const std::vector<NamedTensor>& got,
                     const std::vector<NamedTensor>& want, OpTolerance tol);
  // A check the caller compared itself: its row, and a failure unless ok.
  void record(const std::string& op, const std::string& output, const Comparison& c);
  void print_header() const;
  template <class... Args>
  void log(fmt::format_string<Args...> format, Args&&... args) const {
    if (log_) fmt::print(log_, format, std::forward<Args>(args)...);
  }
  void fail(const std::string& what) { failures_.push_back(what); }
  void count_check() { ++checks_; }
  const std::vector<std::string>& failures() const { return failures_; }
  int checks() const { return checks_; }
  Backend& gpu() { return gpu_; }
  Backend& cpu() { return cpu_; }

 private:
  Backend& gpu_;
  Backend& cpu_;
  std::FILE* log_;
  std::vector<std::string> failures_;
  int checks_ = 0;
};

// One entry of the catalogue: an op family (or the training steps), run on both backends.
struct ComparisonCase {
  const char* name;  // "gemm", "conv", ..., "training": a GoogleTest parameter name
  void (*run)(BackendComparison&, Rng&);
};
std::span<const ComparisonCase> comparison_cases();
// Runs one entry with its own random inputs (the same on every run).
void run_comparison(const ComparisonCase& c, BackendComparison& t);

// The entries, defined in backend_comparison_ops.cpp and backend_comparison_training.cpp.
namespace comparison {
void gemm(BackendComparison& t, Rng& rng);
void conv(BackendComparison& t, Rng& rng);
void augment(BackendComparison& t, Rng& rng);
void batchnorm(BackendComparison& t, Rng& rng);
void batchnorm_sync(BackendComparison& t, Rng& rng);
void batchnorm_pool(BackendComparison& t, Rng& rng);
void relu_and_bias(BackendComparison& t, Rng& rng);
void dropout(BackendComparison& t, Rng& rng);
void flatten(BackendComparison& t, Rng& rng);
void maxpool(BackendComparison& t, Rng& rng);
void loss_and_metrics(BackendComparison& t, Rng& rng);
void optimizer(BackendComparison& t, Rng& rng);
void training(BackendComparison& t, Rng& rng);
}  // namespace comparison

}  // namespace hdr

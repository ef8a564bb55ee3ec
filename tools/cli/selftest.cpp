// `hdr selftest [--device cuda[:N]] [--threads N]`: every op of the Backend interface on the GPU
// and on the CPU backend with identical inputs, compared with the shared checker
// (engine/compare.h), then 20 training steps of the default config on both, step by step. This
// is the check of the CUDA path that needs a real GPU: the kernels' logic is tested in CI through
// the host emulation, but cuDNN/cuBLAS calls, launch configurations on the real device and the
// backend's memory handling are only exercised here. Exit 0 when everything agrees, 1 on any
// mismatch, 2 (one line) when there is no usable GPU.
//
// Tolerances (|gpu - cpu| <= atol + rtol * |cpu|, atol a fraction of the largest |cpu| value of
// the output, because the rounding error of a sum scales with the sum's terms, not its result):
//   exact         0, 0          integers, copies, layout changes, max pooling, ReLU, bias add
//   elementwise   1e-7, 1e-6    one or two roundings per value (dropout scaling)
//   transcendental 1e-6, 1e-5   exp/log/sqrt per value (softmax, cross-entropy, optimizer)
//   resampling    1e-4, 1e-4    augment: sin/cos and the sample position differ by an ulp or
//                               two (FMA contraction), and bilinear sampling of a 0..255 image
//                               turns 1e-5 px into <= 1e-5 of the value range
//   reduction     2e-5, 1e-4    GEMM, convolutions, batch-norm statistics and gradients, bias
//                               gradient: 10^2..10^4-term fp32 sums added in another order
//   model step 1  1e-4, 1e-3    logits and every gradient after one forward/backward of cnn_bn:
//                               a dozen reductions chained
//   training      loss rtol 1e-3 per step; weights atol 5 x learning rate after 20 Adam steps
//                 (Adam moves a weight by about lr per step whatever the gradient's size, so a
//                 gradient that is zero up to rounding may step either way on the two devices;
//                 a wrong op shows in the losses long before that).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "engine/compare.h"
#include "engine/dataset.h"
#include "engine/device_array.h"
#include "engine/model.h"
#include "engine/trainer.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"

namespace hdr::cli {
namespace {

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
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
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

// An activation tensor of n x c x spatial values: each backend keeps it in its own layout (the
// CPU one blocks channels, engine/backend.h), so it enters through flatten_backward and leaves
// through flatten_forward, which convert from and to plain NCHW.
struct Activation {
  int n = 0, c = 0;
  int64_t spatial = 1;
  size_t size() const { return size_t(n) * size_t(c) * size_t(spatial); }
};

// One buffer with the same contents on both backends: plain, or an activation in each backend's
// layout.
template <class T>
class Twin {
 public:
  Twin(Backend& gpu, Backend& cpu, const std::vector<T>& host) : gpu_(gpu, host.size()), cpu_(cpu, host.size()) {
    gpu_.upload(host);
    cpu_.upload(host);
  }
  Twin(Backend& gpu, Backend& cpu, const std::vector<float>& nchw, Activation a)
    requires std::is_same_v<T, float>
      : gpu_(gpu, nchw.size()), cpu_(cpu, nchw.size()), activation_(a) {
    for (Side s : {Side::kGpu, Side::kCpu}) {
      Backend& be = s == Side::kGpu ? gpu : cpu;
      DeviceArray<float> plain(be, nchw.size());
      plain.upload(nchw);
      be.flatten_backward(a.n, a.c, a.spatial, plain.data(), (*this)[s]);
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
        be.flatten_forward(activation_.n, activation_.c, activation_.spatial, a.data(), plain.data());
        return plain.to_host();
      }
    }
    return a.to_host();
  }

 private:
  DeviceArray<T> gpu_, cpu_;
  Activation activation_;
  Backend* backends_[2] = {};
};

template <class T>
std::vector<float> as_floats(const std::vector<T>& v) {
  return std::vector<float>(v.begin(), v.end());
}

class SelfTest {
 public:
  SelfTest(Backend& gpu, Backend& cpu) : gpu_(gpu), cpu_(cpu) {}

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
  Twin<float> activation(const std::vector<float>& nchw, Activation a) { return Twin<float>(gpu_, cpu_, nchw, a); }

  template <class T>
  void check(const std::string& op, const std::string& output, const Twin<T>& t, OpTolerance tol) {
    check_values(op, output, as_floats(t.values(Side::kGpu)), as_floats(t.values(Side::kCpu)), tol);
  }
  void check_values(const std::string& op, const std::string& output, const std::vector<float>& got,
                    const std::vector<float>& want, OpTolerance tol) {
    double largest = 0;
    for (float w : want) largest = std::max(largest, double(std::fabs(w)));
    const Comparison c = compare(got, want, Tolerance{tol.atol_of_max * largest, tol.rtol});
    print_row(op, output, c);
    if (!c.ok()) failures_.push_back(fmt::format("{} {}: {}", op, output, c.summary()));
    ++checks_;
  }
  void print_header() const {
    fmt::print("{:<62} {:<13} {:>9} {:>12} {:>12}  {}\n", "op", "output", "values", "max abs err", "max rel err",
               "result");
  }
  static void print_row(const std::string& op, const std::string& output, const Comparison& c) {
    fmt::print("{:<62} {:<13} {:>9} {:>12.3g} {:>12.3g}  {}\n", op, output, c.count, c.max_abs_error,
               c.max_rel_error, c.ok() ? "ok" : "MISMATCH");
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
  std::vector<std::string> failures_;
  int checks_ = 0;
};

// --- the library ops -------------------------------------------------------------------------

void test_gemm(SelfTest& t, Rng& rng) {
  struct Case {
    int m, n, k;
    float alpha, beta;
  };
  // cnn_bn's dense layers at batch 64 (forward, and the shapes of both backward products), and odd sizes.
  const Case cases[] = {{64, 128, 1152, 1, 0}, {1152, 128, 64, 1, 0}, {64, 10, 128, 1, 0},
                        {3, 5, 13, 1, 0},      {13, 3, 5, 0.5f, 0.25f}};
  for (const Case& c : cases) {
    for (int trans = 0; trans < 4; ++trans) {
      const bool ta = trans & 2, tb = trans & 1;
      const float scale = 1.0f / std::sqrt(float(c.k));  // outputs of order 1, as in a network
      auto a = t.twin(rng.floats(size_t(c.m) * c.k, -1, 1));
      auto b = t.twin(rng.floats(size_t(c.k) * c.n, -scale, scale));
      auto out = t.twin(rng.floats(size_t(c.m) * c.n, -1, 1));
      t.both([&](Backend& be, Side s) { be.gemm(ta, tb, c.m, c.n, c.k, c.alpha, a[s], b[s], c.beta, out[s]); });
      t.check(fmt::format("gemm {}{} m={} n={} k={}{}", ta ? 'T' : 'N', tb ? 'T' : 'N', c.m, c.n, c.k,
                          c.beta != 0 ? fmt::format(" a={} b={}", c.alpha, c.beta) : ""),
              "C", out, kReduction);
    }
  }
}

void test_conv(SelfTest& t, Rng& rng) {
  const auto geometry = [](int n, int c, int hw, int k, int kernel, int pad, int stride) {
    ConvGeometry g;
    g.n = n, g.c = c, g.h = g.w = hw, g.k = k, g.kh = g.kw = kernel, g.pad_h = g.pad_w = pad, g.stride = stride;
    return g;
  };
  // Seed 000's three convolutions at n = 8, cnn_best's strided 5x5 "same" convolution and its
  // 4x4 one down to 1x1, then odd shapes with padding and stride.
  const ConvGeometry cases[] = {geometry(8, 1, 28, 32, 3, 0, 1),  geometry(8, 32, 13, 64, 3, 0, 1),
                                geometry(8, 64, 5, 128, 3, 0, 1), geometry(8, 32, 24, 32, 5, 2, 2),
                                geometry(8, 64, 4, 128, 4, 0, 1), geometry(3, 5, 13, 7, 3, 1, 2),
                                geometry(3, 5, 13, 7, 5, 2, 1)};
  for (const ConvGeometry& g : cases) {
    const std::string name = fmt::format("n={} c={} {}x{} k={} {}x{} pad={} stride={}", g.n, g.c, g.h, g.w, g.k,
                                         g.kh, g.kw, g.pad_h, g.stride);
    const size_t xs = size_t(g.n) * g.c * g.h * g.w, ys = size_t(g.n) * g.k * g.out_h() * g.out_w();
    const size_t ws = size_t(g.k) * g.c * g.kh * g.kw;
    const float scale = 1.0f / std::sqrt(float(g.c * g.kh * g.kw));
    const Activation xa{g.n, g.c, int64_t(g.h) * g.w}, ya{g.n, g.k, int64_t(g.out_h()) * g.out_w()};
    auto x = t.activation(rng.floats(xs, -1, 1), xa);
    auto w = t.twin(rng.floats(ws, -scale, scale));
    auto bias = t.twin(rng.floats(size_t(g.k), -0.5f, 0.5f));
    auto y = t.activation(std::vector<float>(ys), ya);
    t.both([&](Backend& be, Side s) { be.conv_forward(g, x[s], w[s], bias[s], y[s]); });
    t.check("conv_forward " + name, "y", y, kReduction);
    t.both([&](Backend& be, Side s) { be.conv_forward(g, x[s], w[s], nullptr, y[s]); });
    t.check("conv_forward (no bias) " + name, "y", y, kReduction);

    auto dy = t.activation(rng.floats(ys, -1, 1), ya);
    auto dx = t.activation(rng.floats(xs, -1, 1), xa);  // garbage: must be overwritten
    t.both([&](Backend& be, Side s) { be.conv_backward_data(g, w[s], dy[s], dx[s]); });
    t.check("conv_backward_data " + name, "dx", dx, kReduction);

    auto dw = t.twin(rng.floats(ws, -1, 1));
    auto dbias = t.twin(rng.floats(size_t(g.k), -1, 1));
    t.both([&](Backend& be, Side s) { be.conv_backward_weights(g, x[s], dy[s], dw[s], dbias[s]); });
    t.check("conv_backward_weights " + name, "dw", dw, kReduction);
    t.check("conv_backward_weights " + name, "dbias", dbias, kReduction);
  }
}

// --- the hand-written ops ----------------------------------------------------------------------

void test_augment(SelfTest& t, Rng& rng) {
  const int count = 50, h = 28, w = 28, n = 37;
  auto images = t.twin(rng.bytes(size_t(count) * h * w, 256));
  auto labels = t.twin(rng.bytes(size_t(count), 10));
  std::vector<int32_t> rows(n);
  for (int32_t& r : rows) r = int32_t(rng.next() % count);
  auto indices = t.twin(rows);

  AugmentParams seed000;  // cnn_bn's augmentation, with MNIST's normalisation
  seed000.rotation_deg = 10, seed000.shift_x = 0.1f, seed000.shift_y = 0.1f, seed000.zoom = 0.1f;
  seed000.mean = 0.1307f, seed000.inv_std = 1.0f / 0.3081f;
  const RandomKey key{42, 3, kStreamAugment};
  for (const auto& [name, params] : {std::pair{"augment (scaling only)", AugmentParams{}},
                                     std::pair{"augment (rotate, shift, zoom)", seed000}}) {
    auto out = t.twin(std::vector<float>(size_t(n) * h * w));
    t.both([&](Backend& be, Side s) { be.augment(params, key, images[s], h, w, indices[s], n, out[s]); });
    t.check(fmt::format("{} n={} {}x{}", name, n, h, w), "out", out, kResampling);
  }
  auto gathered = t.twin(std::vector<uint8_t>(size_t(n)));
  t.both([&](Backend& be, Side s) { be.gather_labels(labels[s], indices[s], n, gathered[s]); });
  t.check(fmt::format("gather_labels n={}", n), "labels", gathered, kExact);
}

// A batch norm's parameters and statistics on both backends, drawn as a trained layer's are.
struct BatchNormTwins {
  BatchNormTwins(SelfTest& t, Rng& rng, size_t c)
      : gamma(t.twin(rng.floats(c, 0.5f, 1.5f))),
        beta(t.twin(rng.floats(c, -0.5f, 0.5f))),
        running_mean(t.twin(rng.floats(c, -0.1f, 0.1f))),
        running_var(t.twin(rng.floats(c, 0.5f, 1.5f))),
        save_mean(t.twin(std::vector<float>(c))),
        save_inv_std(t.twin(std::vector<float>(c))) {}
  Twin<float> gamma, beta, running_mean, running_var, save_mean, save_inv_std;
};

void test_batchnorm(SelfTest& t, Rng& rng) {
  const auto geometry = [](int n, int c, int spatial, BnActivation a) {
    BatchNormGeometry g;
    g.n = n, g.c = c, g.spatial = spatial, g.activation = a;
    return g;
  };
  // cnn_bn's first (conv, ReLU before) and last (dense) batch norms, and an odd one.
  const BatchNormGeometry cases[] = {geometry(8, 32, 26 * 26, BnActivation::kReluBefore),
                                     geometry(64, 128, 1, BnActivation::kReluBefore),
                                     geometry(3, 5, 13 * 13, BnActivation::kReluAfter),
                                     geometry(3, 5, 13 * 13, BnActivation::kNone)};
  const char* const activation_names[] = {"none", "relu after", "relu before"};
  for (const BatchNormGeometry& g : cases) {
    const std::string name = fmt::format("n={} c={} spatial={} ({})", g.n, g.c, g.spatial,
                                         activation_names[int(g.activation)]);
    const size_t count = size_t(g.n) * g.c * g.spatial, c = size_t(g.c);
    const Activation act{g.n, g.c, g.spatial};
    auto x = t.activation(rng.floats(count, -1, 3), act);  // mean far from 0, as after a ReLU
    BatchNormTwins bn(t, rng, c);
    auto& [gamma, beta, running_mean, running_var, save_mean, save_inv_std] = bn;
    auto y = t.activation(std::vector<float>(count), act);
    t.both([&](Backend& be, Side s) {
      be.bn_relu_forward_train(g, x[s], gamma[s], beta[s], running_mean[s], running_var[s], save_mean[s],
                               save_inv_std[s], y[s]);
    });
    const std::string train = "bn_relu_forward_train " + name;
    t.check(train, "y", y, kReduction);
    t.check(train, "running_mean", running_mean, kReduction);
    t.check(train, "running_var", running_var, kReduction);
    t.check(train, "save_mean", save_mean, kReduction);
    t.check(train, "save_inv_std", save_inv_std, kReduction);

    t.both([&](Backend& be, Side s) {
      be.bn_relu_forward_infer(g, x[s], gamma[s], beta[s], running_mean[s], running_var[s], y[s]);
    });
    t.check("bn_relu_forward_infer " + name, "y", y, kReduction);

    auto dy = t.activation(rng.floats(count, -1, 1), act);
    auto dx = t.activation(std::vector<float>(count), act);
    auto dgamma = t.twin(rng.floats(c, -1, 1));  // garbage: written, not accumulated
    auto dbeta = t.twin(rng.floats(c, -1, 1));
    t.both([&](Backend& be, Side s) {
      be.bn_relu_backward(g, x[s], dy[s], gamma[s], beta[s], save_mean[s], save_inv_std[s], dx[s], dgamma[s],
                          dbeta[s]);
    });
    const std::string backward = "bn_relu_backward " + name;
    t.check(backward, "dx", dx, kReduction);
    t.check(backward, "dgamma", dgamma, kReduction);
    t.check(backward, "dbeta", dbeta, kReduction);
  }
}

// The conv block's batch norm + ReLU + max pooling, fused where each backend fuses it (the CUDA
// backend always, the CPU one on nChw16c with non-overlapping windows): cnn_bn's first block,
// and an odd one with overlapping windows.
void test_batchnorm_pool(SelfTest& t, Rng& rng) {
  struct Case {
    int n, c, hw, size, stride;
  };
  for (const Case& k : {Case{8, 32, 26, 2, 2}, Case{3, 5, 13, 3, 2}}) {
    BatchNormGeometry g;
    g.n = k.n, g.c = k.c, g.spatial = k.hw * k.hw, g.activation = BnActivation::kReluBefore;
    PoolGeometry p;
    p.n = k.n, p.c = k.c, p.h = p.w = k.hw, p.size = k.size, p.stride = k.stride;
    const std::string name = fmt::format("n={} c={} {}x{} pool {}/{}", k.n, k.c, k.hw, k.hw, k.size, k.stride);
    const size_t count = size_t(k.n) * k.c * k.hw * k.hw, c = size_t(k.c);
    const size_t outs = size_t(k.n) * k.c * size_t(p.out_h()) * size_t(p.out_w());
    const Activation in{k.n, k.c, g.spatial}, out{k.n, k.c, int64_t(p.out_h()) * p.out_w()};
    auto x = t.activation(rng.floats(count, -1, 3), in);
    BatchNormTwins bn(t, rng, c);
    auto& [gamma, beta, running_mean, running_var, save_mean, save_inv_std] = bn;
    auto scratch = t.activation(std::vector<float>(count), in);
    auto y = t.activation(std::vector<float>(outs), out);
    auto argmax = t.twin(std::vector<int32_t>(outs));  // each backend's own layout: checked through backward
    t.both([&](Backend& be, Side s) {
      be.bn_relu_maxpool_forward_train(g, p, x[s], gamma[s], beta[s], running_mean[s], running_var[s], save_mean[s],
                                       save_inv_std[s], scratch[s], y[s], argmax[s]);
    });
    t.check("bn_relu_maxpool_forward_train " + name, "y", y, kReduction);
    t.check("bn_relu_maxpool_forward_train " + name, "save_mean", save_mean, kReduction);
    auto dy = t.activation(rng.floats(outs, -1, 1), out);
    auto dx = t.activation(std::vector<float>(count), in);
    auto dgamma = t.twin(rng.floats(c, -1, 1));
    auto dbeta = t.twin(rng.floats(c, -1, 1));
    t.both([&](Backend& be, Side s) {
      be.bn_relu_maxpool_backward(g, p, x[s], dy[s], argmax[s], gamma[s], beta[s], save_mean[s], save_inv_std[s],
                                  scratch[s], dx[s], dgamma[s], dbeta[s]);
    });
    t.check("bn_relu_maxpool_backward " + name, "dx", dx, kReduction);
    t.check("bn_relu_maxpool_backward " + name, "dgamma", dgamma, kReduction);
    t.check("bn_relu_maxpool_backward " + name, "dbeta", dbeta, kReduction);
    t.both([&](Backend& be, Side s) {
      be.bn_relu_maxpool_forward_infer(g, p, x[s], gamma[s], beta[s], running_mean[s], running_var[s], scratch[s],
                                       y[s], argmax[s]);
    });
    t.check("bn_relu_maxpool_forward_infer " + name, "y", y, kReduction);
  }
}

void test_relu_and_bias(SelfTest& t, Rng& rng) {
  for (const int64_t count : {int64_t(8) * 32 * 26 * 26, int64_t(1001)}) {
    auto x = t.twin(rng.floats(size_t(count), -1, 1));
    auto y = t.twin(std::vector<float>(size_t(count)));
    auto dy = t.twin(rng.floats(size_t(count), -1, 1));
    auto dx = t.twin(std::vector<float>(size_t(count)));
    t.both([&](Backend& be, Side s) { be.relu_forward(count, x[s], y[s]); });
    t.check(fmt::format("relu_forward count={}", count), "y", y, kExact);
    t.both([&](Backend& be, Side s) { be.relu_backward(count, y[s], dy[s], dx[s]); });
    t.check(fmt::format("relu_backward count={}", count), "dx", dx, kExact);
  }
  for (const auto& [rows, cols] : {std::pair{64, 128}, std::pair{3, 13}}) {
    const size_t count = size_t(rows) * cols;
    auto bias = t.twin(rng.floats(size_t(cols), -1, 1));
    auto y = t.twin(rng.floats(count, -1, 1));
    auto db = t.twin(rng.floats(size_t(cols), -1, 1));
    t.both([&](Backend& be, Side s) { be.bias_add(rows, cols, bias[s], y[s]); });
    t.check(fmt::format("bias_add rows={} cols={}", rows, cols), "y", y, kExact);
    t.both([&](Backend& be, Side s) { be.bias_grad(rows, cols, y[s], db[s]); });
    t.check(fmt::format("bias_grad rows={} cols={}", rows, cols), "db", db, kReduction);
  }
}

void test_dropout(SelfTest& t, Rng& rng) {
  struct Case {
    float rate;
    int first_sample;
    Activation a;
  };
  // After cnn_bn's first pooling, before its output layer, and odd.
  const Case cases[] = {{0.25f, 64, {8, 32, 13 * 13}}, {0.5f, 64, {8, 128, 1}}, {0.5f, 5, {3, 7, 11 * 13}}};
  for (const Case& c : cases) {
    const RandomKey key{42, 3, kStreamDropout + 3};
    const std::string name = fmt::format("rate={} first={} n={} c={} spatial={}", c.rate, c.first_sample, c.a.n,
                                         c.a.c, c.a.spatial);
    auto x = t.activation(rng.floats(c.a.size(), -1, 1), c.a);
    auto y = t.activation(std::vector<float>(c.a.size()), c.a);
    t.both([&](Backend& be, Side s) {
      be.dropout_forward(c.rate, key, c.first_sample, c.a.n, c.a.c, c.a.spatial, x[s], y[s]);
    });
    t.check("dropout_forward " + name, "y", y, kElementwise);
    t.both([&](Backend& be, Side s) {
      be.dropout_backward(c.rate, key, c.first_sample, c.a.n, c.a.c, c.a.spatial, x[s], y[s]);
    });
    t.check("dropout_backward " + name, "dx", y, kElementwise);
  }
}

// Flatten: from each backend's activation layout to plain rows and back.
void test_flatten(SelfTest& t, Rng& rng) {
  for (const Activation a : {Activation{8, 128, 3 * 3}, Activation{3, 5, 13 * 13}}) {
    const std::string name = fmt::format("n={} c={} spatial={}", a.n, a.c, a.spatial);
    auto x = t.activation(rng.floats(a.size(), -1, 1), a);
    auto rows = t.twin(std::vector<float>(a.size()));
    t.both([&](Backend& be, Side s) { be.flatten_forward(a.n, a.c, a.spatial, x[s], rows[s]); });
    t.check("flatten_forward " + name, "rows", rows, kExact);
    auto dx = t.activation(std::vector<float>(a.size()), a);
    t.both([&](Backend& be, Side s) { be.flatten_backward(a.n, a.c, a.spatial, rows[s], dx[s]); });
    t.check("flatten_backward " + name, "dx", dx, kExact);
  }
}

void test_maxpool(SelfTest& t, Rng& rng) {
  const auto geometry = [](int n, int c, int hw, int size, int stride) {
    PoolGeometry g;
    g.n = n, g.c = c, g.h = g.w = hw, g.size = size, g.stride = stride;
    return g;
  };
  const PoolGeometry cases[] = {geometry(8, 32, 26, 2, 2), geometry(3, 5, 13, 2, 2), geometry(3, 5, 13, 3, 2)};
  for (const PoolGeometry& g : cases) {
    const std::string name = fmt::format("n={} c={} {}x{} size={} stride={}", g.n, g.c, g.h, g.w, g.size, g.stride);
    const size_t xs = size_t(g.n) * g.c * g.h * g.w, ys = size_t(g.n) * g.c * g.out_h() * g.out_w();
    const Activation xa{g.n, g.c, int64_t(g.h) * g.w}, ya{g.n, g.c, int64_t(g.out_h()) * g.out_w()};
    auto x = t.activation(rng.floats(xs, -1, 1), xa);
    auto y = t.activation(std::vector<float>(ys), ya);
    // argmax indexes x in each backend's own layout: it is checked through maxpool_backward.
    auto argmax = t.twin(std::vector<int32_t>(ys));
    t.both([&](Backend& be, Side s) { be.maxpool_forward(g, x[s], y[s], argmax[s]); });
    t.check("maxpool_forward " + name, "y", y, kExact);
    auto dy = t.activation(rng.floats(ys, -1, 1), ya);
    auto dx = t.activation(rng.floats(xs, -1, 1), xa);  // garbage: every element is written
    t.both([&](Backend& be, Side s) { be.maxpool_backward(g, dy[s], argmax[s], dx[s]); });
    t.check("maxpool_backward " + name, "dx", dx, kExact);
  }
}

void test_loss_and_metrics(SelfTest& t, Rng& rng) {
  for (const auto& [n, classes, smoothing] : {std::tuple{64, 10, 0.0f}, std::tuple{3, 7, 0.0f}, std::tuple{64, 10, 0.1f}}) {
    const std::string name = fmt::format("n={} classes={} smoothing={}", n, classes, smoothing);
    const size_t count = size_t(n) * classes;
    auto logits = t.twin(rng.floats(count, -5, 5));
    auto labels = t.twin(rng.bytes(size_t(n), classes));
    auto dlogits = t.twin(std::vector<float>(count));
    auto metrics = t.twin(std::vector<double>{1.5, 2.0});  // accumulated into
    t.both([&](Backend& be, Side s) { be.softmax_xent(n, classes, logits[s], labels[s], smoothing, dlogits[s], metrics[s]); });
    t.check("softmax_xent " + name, "dlogits", dlogits, kTranscendental);
    const auto gpu = metrics.values(Side::kGpu), cpu = metrics.values(Side::kCpu);
    t.check_values("softmax_xent " + name, "loss sum", {float(gpu[0])}, {float(cpu[0])}, kTranscendental);
    t.check_values("softmax_xent " + name, "correct", {float(gpu[1])}, {float(cpu[1])}, kExact);

    auto probs = t.twin(std::vector<float>(count));
    t.both([&](Backend& be, Side s) { be.softmax(n, classes, logits[s], probs[s]); });
    t.check("softmax " + name, "probs", probs, kTranscendental);

    std::vector<int64_t> start(size_t(classes) * classes);
    for (size_t i = 0; i < start.size(); ++i) start[i] = int64_t(i % 3);  // accumulated into
    auto confusion = t.twin(start);
    auto eval_metrics = t.twin(std::vector<double>{0.0, 0.0});
    t.both([&](Backend& be, Side s) {
      be.evaluate_batch(n, classes, logits[s], labels[s], confusion[s], eval_metrics[s]);
    });
    t.check("evaluate_batch " + name, "confusion", confusion, kExact);
    const auto egpu = eval_metrics.values(Side::kGpu), ecpu = eval_metrics.values(Side::kCpu);
    t.check_values("evaluate_batch " + name, "loss sum", {float(egpu[0])}, {float(ecpu[0])}, kTranscendental);
    t.check_values("evaluate_batch " + name, "correct", {float(egpu[1])}, {float(ecpu[1])}, kExact);
  }
}

void test_optimizer(SelfTest& t, Rng& rng) {
  // Three segments: a kernel with L2 and decay, a bias, a second kernel; sizes not multiples of
  // any block size.
  const std::vector<ParamSegment> segments{{0, 1000, true, 5e-4f}, {1000, 37, false, 0.0f}, {1037, 501, true, 0.0f}};
  const size_t count = 1538;
  OptimizerParams adam, adamw, sgd;
  adamw.kind = OptimizerKind::kAdamW, adamw.weight_decay = 0.01f;
  sgd.kind = OptimizerKind::kSgd, sgd.nesterov = true;
  struct Case {
    const char* name;
    OptimizerParams p;
    int64_t step;
  };
  const Case cases[] = {{"adam step 1", adam, 1}, {"adam step 7", adam, 7}, {"adamw step 3", adamw, 3},
                        {"sgd nesterov step 2", sgd, 2}};
  for (const Case& c : cases) {
    auto params = t.twin(rng.floats(count, -1, 1));
    auto grads = t.twin(rng.floats(count, -0.1f, 0.1f));
    auto m = t.twin(rng.floats(count, -0.01f, 0.01f));
    auto v = t.twin(rng.floats(count, 0.0f, 1e-4f));
    t.both([&](Backend& be, Side s) {
      be.optimizer_update(c.p, 1e-3f, c.step, segments.data(), int(segments.size()), params[s], grads[s], m[s], v[s]);
    });
    const std::string name = fmt::format("optimizer_update {} ({} values)", c.name, count);
    t.check(name, "params", params, kTranscendental);
    t.check(name, "m", m, kTranscendental);
    t.check(name, "v", v, kTranscendental);
  }
  auto average = t.twin(rng.floats(count, -1, 1));
  auto weights = t.twin(rng.floats(count, -1, 1));
  t.both([&](Backend& be, Side s) { be.weight_average(int64_t(count), 0.999f, weights[s], average[s]); });
  t.check(fmt::format("weight_average ({} values)", count), "average", average, kTranscendental);
}

// --- 20 training steps of the default config ----------------------------------------------------

// The default config's first 1600 training images (1280 after the 20% validation split: 20
// batches of 64), or random images when the MNIST files are not there.
LabelledImages training_images(const Config& config) {
  if (MnistFiles(config.data.dir).all_present())
    return load_datasets(config.data, config.model, config.train.seed).train;
  fmt::print("training: {} lacks the MNIST files: random images instead\n", config.data.dir);
  Rng rng(7);
  LabelledImages set;
  set.num_classes = config.model.classes;
  set.images.count = 1280, set.images.rows = config.model.input_h, set.images.cols = config.model.input_w;
  set.images.pixels = rng.bytes(size_t(set.images.count) * set.images.rows * set.images.cols, 256);
  set.labels = rng.bytes(size_t(set.images.count), config.model.classes);
  return set;
}

// Keeps the logits and gradients of the first step it sees, downloaded from the device.
class FirstStep final : public StepObserver {
 public:
  explicit FirstStep(Backend& backend) : backend_(backend) {}
  void logits(const float* device_logits, int n, int classes) override {
    logits_.resize(size_t(n) * size_t(classes));
    backend_.download(logits_.data(), device_logits, logits_.size() * sizeof(float));
  }
  void gradients(const float* device_grads, size_t count) override {
    grads_.resize(count);
    backend_.download(grads_.data(), device_grads, count * sizeof(float));
  }
  const std::vector<float>& logits() const { return logits_; }
  const std::vector<float>& gradients() const { return grads_; }

 private:
  Backend& backend_;
  std::vector<float> logits_, grads_;
};

// The trainer's own step (TrainStep) on both backends, from the same weights and batches.
void test_training(SelfTest& t) {
  const Config config = default_config({"data.train_limit=1600"});
  const TrainSpec& ts = config.train;
  const int steps = 20, batch = ts.batch_size;
  const LabelledImages images = training_images(config);

  struct Run {
    Run(Backend& be, const Config& c, const LabelledImages& set)
        : model(c.model, be, c.train.batch_size),
          data(be, set),
          order(be, size_t(set.count())),
          step(model, be, c),
          metrics(be, 2),
          first_step(be) {}
    Model model;
    DeviceImages data;
    DeviceArray<int32_t> order;
    TrainStep step;
    DeviceArray<double> metrics;
    FirstStep first_step;
  };
  Run gpu(t.gpu(), config, images), cpu(t.cpu(), config, images);
  const std::vector<int32_t> order = shuffled_indices(images.count(), RandomKey{ts.seed, 0, kStreamShuffle});
  for (Run* r : {&gpu, &cpu}) {
    r->model.initialize(ts.seed);
    r->order.upload(order);
    r->step.attach_observer(&r->first_step);
  }
  const std::string model_name = fmt::format("{} (batch {})", config.model.name, batch);
  t.check_values(model_name + " initial weights", "values", gpu.model.snapshot().values,
                 cpu.model.snapshot().values, kExact);

  // Each step's loss; step 1's logits and gradients (before any update) are kept.
  fmt::print("\n{:>4} {:>12} {:>12} {:>10}  {}\n", "step", "loss gpu", "loss cpu", "rel diff", "result");
  for (int step = 1; step <= steps; ++step) {
    const int first = ((step - 1) * batch) % images.count();
    const int n = std::min(batch, images.count() - first);
    float loss[2] = {};
    for (int side = 0; side < 2; ++side) {
      Run& r = side == 0 ? gpu : cpu;
      r.metrics.zero();
      r.step.run(r.data, r.order.data() + first, n, 0, first, ts.learning_rate, r.metrics.data());
      if (step == 1) r.step.attach_observer(nullptr);
      loss[side] = float(r.metrics.to_host()[0] / n);
    }
    const double rel = std::fabs(double(loss[0]) - loss[1]) / std::max(std::fabs(double(loss[1])), 1e-30);
    const bool ok = rel <= 1e-3;
    fmt::print("{:>4} {:>12.6f} {:>12.6f} {:>10.2g}  {}\n", step, loss[0], loss[1], rel, ok ? "ok" : "MISMATCH");
    t.count_check();
    if (!ok) t.fail(fmt::format("training step {}: loss {} on the GPU, {} on the CPU", step, loss[0], loss[1]));
  }
  fmt::print("\n");
  t.print_header();
  t.check_values(model_name + " step 1", "logits", gpu.first_step.logits(), cpu.first_step.logits(), kModelStep);
  t.check_values(model_name + " step 1", "gradients", gpu.first_step.gradients(), cpu.first_step.gradients(),
                 kModelStep);
  const std::string after = fmt::format("{} after {} steps", model_name, steps);
  const Model::Snapshot g = gpu.model.snapshot(), c = cpu.model.snapshot();
  const Comparison w = compare(g.values, c.values, Tolerance{5.0 * ts.learning_rate, 0});
  SelfTest::print_row(after, "weights", w);
  t.count_check();
  if (!w.ok()) t.fail(after + " weights: " + w.summary());
  t.check_values(after, "bn statistics", g.state, c.state, kModelStep);
}

struct SelftestArgs {
  std::string device = "cuda";
  int threads = 0;
};

void run_selftest(const SelftestArgs& args) {
  auto gpu = open_cuda_backend(args.device);  // before any output: no GPU is one line, exit 2
  auto cpu = make_cpu_backend(args.threads);
  fmt::print("selftest: {} against {}\n\n", gpu->name(), cpu->name());
  SelfTest t(*gpu, *cpu);
  Rng rng(2024);
  t.print_header();
  test_gemm(t, rng);
  test_conv(t, rng);
  test_augment(t, rng);
  test_batchnorm(t, rng);
  test_batchnorm_pool(t, rng);
  test_relu_and_bias(t, rng);
  test_dropout(t, rng);
  test_flatten(t, rng);
  test_maxpool(t, rng);
  test_loss_and_metrics(t, rng);
  test_optimizer(t, rng);
  test_training(t);
  if (!t.failures().empty()) {
    fmt::print("\nMismatches:\n");
    for (const std::string& f : t.failures()) fmt::print("  {}\n", f);
    throw std::runtime_error(fmt::format("selftest: {} of {} checks failed", t.failures().size(), t.checks()));
  }
  fmt::print("\nselftest: all {} checks ok\n", t.checks());
}

}  // namespace

void add_selftest_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("selftest", "Run every op on the GPU and the CPU and compare, then 20 training steps");
  auto args = std::make_shared<SelftestArgs>();
  cmd->add_option("--device", args->device, "The GPU to test: cuda or cuda:N")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return cuda_device_index(v) ? "" : fmt::format("'{}' is not a GPU: expected cuda or cuda:N", v);
          },
          "cuda[:N]"))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "CPU threads of the reference backend (0: all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->callback([args] { run_selftest(*args); });
}

}  // namespace hdr::cli

// The batch norm + ReLU kernels of kernels/bn_relu.cuh, run through the CUDA emulation
// (kernels/simt_host.h) with the launchers' geometry at block sizes 32..256 (48 and 96: partial
// last warps), on odd shapes (13 x 13 planes, 5 channels; dense spatial = 1; c = 1; m = 1),
// against the CPU twin and a plain double-precision loop; the reductions also over partitions
// the launchers' bn_parts would not choose for these shapes (several slices per channel, some
// of them empty). The kernels sum each channel in a different order than the CPU twin (slices,
// strided per-thread partials, then a tree), so statistics and everything downstream agree
// with it to float rounding (a few ulps), not bit for bit.
#include "tests/kernel/bn_relu_emulated.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "engine/verify/compare.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

constexpr int kBlockSizes[] = {32, 48, 64, 96, 256};
// (block size, slices per channel) of the reductions: every block size with the launcher's
// partition (0: bn_parts, 1 slice for these small shapes), then 2 and 7 slices (7 leaves the
// last slices of the 7-value channels empty). Not the full product: each emulated launch starts
// a thread per CUDA thread, and these tests also run under ThreadSanitizer.
struct Launch {
  int block, parts;
};
constexpr Launch kLaunches[] = {{32, 0}, {48, 0}, {64, 0}, {96, 0}, {256, 0}, {48, 2}, {96, 7}};
constexpr BnActivation kActivations[] = {BnActivation::kNone, BnActivation::kReluAfter, BnActivation::kReluBefore};
// Against the CPU twin: the same float math, sums in another order; and the element-wise math
// may round differently where one build contracts a * b + c into an FMA (the CPU twin is built
// with -march=native, nvcc contracts by default): a few ulps either way.
constexpr Tolerance kTwin{1e-6, 1e-6};
// The twin's training forward sums each plane in float (so that its loop vectorises); where the
// loop is not vectorised (an ASan build), those sums drift by ~1e-6 relative, ~1e-5 in y.
constexpr Tolerance kTwinTraining{3e-5, 1e-5};
// Against the double-precision loop: float rounding of the kernels' own arithmetic.
constexpr Tolerance kReference{1e-5, 1e-5};

struct Shape {
  int n, c, spatial;
};
constexpr Shape kPlanes{3, 5, 13 * 13};  // 507 values per channel
constexpr Shape kDense{7, 4, 1};
constexpr Shape kOneChannel{2, 1, 13 * 13};
constexpr Shape kOneValue{1, 3, 1};  // m = 1: variance 0, running variance takes it as is
constexpr Shape kShapes[] = {kPlanes, kDense, kOneChannel, kOneValue};

BatchNormGeometry geometry(const Shape& s, BnActivation act) {
  BatchNormGeometry g;
  g.n = s.n;
  g.c = s.c;
  g.spatial = s.spatial;
  g.activation = act;
  return g;
}

std::vector<float> uniform(int64_t count, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size_t(count), 0.0f);
  for (float& e : v) e = dist(rng);
  return v;
}

void expect_close(std::string_view what, const std::vector<float>& got, const std::vector<float>& want, Tolerance tol) {
  const Comparison c = compare(got, want, tol);
  EXPECT_TRUE(c.ok()) << what << ": " << c.summary();
}

// Inputs centred off zero so both ReLU sides are populated; running statistics not at their
// initial values, so the update is visible.
struct Inputs {
  std::vector<float> x, gamma, beta, running_mean, running_var;
};

Inputs random_inputs(const BatchNormGeometry& g, unsigned seed) {
  std::mt19937 rng(seed);
  return {uniform(bn_relu_count(g), -1.5f, 2.0f, rng), uniform(g.c, 0.5f, 1.5f, rng), uniform(g.c, -0.5f, 0.5f, rng),
          uniform(g.c, -0.2f, 0.2f, rng), uniform(g.c, 0.5f, 2.0f, rng)};
}

struct Forward {
  std::vector<float> running_mean, running_var, save_mean, save_inv_std, y;
};

Forward cpu_forward(const BatchNormGeometry& g, const Inputs& in) {
  Forward f{in.running_mean, in.running_var, std::vector<float>(size_t(g.c)), std::vector<float>(size_t(g.c)),
            std::vector<float>(in.x.size())};
  cpu::bn_relu_forward_train(g, in.x.data(), in.gamma.data(), in.beta.data(), f.running_mean.data(),
                             f.running_var.data(), f.save_mean.data(), f.save_inv_std.data(), f.y.data());
  return f;
}

// As kernels/conv_block.cu launches it (parts 0: the launcher's bn_parts).
Forward emulated_forward(const BatchNormGeometry& g, const Inputs& in, int block, int parts = 0) {
  Forward f{in.running_mean, in.running_var, std::vector<float>(size_t(g.c), NAN), std::vector<float>(size_t(g.c), NAN),
            std::vector<float>(in.x.size(), NAN)};
  test::emulated_stats(g, block, parts > 0 ? parts : bn_parts(g), in.x.data(), f.running_mean.data(),
                       f.running_var.data(), f.save_mean.data(), f.save_inv_std.data());
  simt::launch(bn_relu_element_grid(g, block), dim3(unsigned(block)), bn_relu_apply_kernel, g, in.x.data(),
               in.gamma.data(), in.beta.data(), f.save_mean.data(), f.save_inv_std.data(), f.y.data());
  return f;
}

double relu_ref(double v) { return v > 0.0 ? v : 0.0; }

// The plain loop in double: two-pass statistics, y, and the Keras running update.
Forward reference_forward(const BatchNormGeometry& g, const Inputs& in) {
  Forward f{in.running_mean, in.running_var, std::vector<float>(size_t(g.c)), std::vector<float>(size_t(g.c)),
            std::vector<float>(in.x.size())};
  const double m = double(g.n) * g.spatial;
  auto u = [&](int64_t k) {
    return g.activation == BnActivation::kReluBefore ? relu_ref(in.x[size_t(k)]) : double(in.x[size_t(k)]);
  };
  for (int c = 0; c < g.c; ++c) {
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < g.n; ++i)
      for (int s = 0; s < g.spatial; ++s) sum += u((int64_t(i) * g.c + c) * g.spatial + s);
    const double mean = sum / m;
    for (int i = 0; i < g.n; ++i)
      for (int s = 0; s < g.spatial; ++s) sq += std::pow(u((int64_t(i) * g.c + c) * g.spatial + s) - mean, 2);
    const double var = sq / m, unbiased = m > 1 ? sq / (m - 1) : var;
    const double inv_std = 1.0 / std::sqrt(var + double(g.eps));
    f.save_mean[size_t(c)] = float(mean);
    f.save_inv_std[size_t(c)] = float(inv_std);
    f.running_mean[size_t(c)] = float(g.momentum * double(in.running_mean[size_t(c)]) + (1.0 - g.momentum) * mean);
    f.running_var[size_t(c)] = float(g.momentum * double(in.running_var[size_t(c)]) + (1.0 - g.momentum) * unbiased);
    for (int i = 0; i < g.n; ++i) {
      for (int s = 0; s < g.spatial; ++s) {
        const int64_t k = (int64_t(i) * g.c + c) * g.spatial + s;
        const double z = double(in.gamma[size_t(c)]) * (u(k) - mean) * inv_std + double(in.beta[size_t(c)]);
        f.y[size_t(k)] = float(g.activation == BnActivation::kReluAfter ? relu_ref(z) : z);
      }
    }
  }
  return f;
}

void expect_forward_close(const Forward& got, const Forward& want, Tolerance tol) {
  expect_close("save_mean", got.save_mean, want.save_mean, tol);
  expect_close("save_inv_std", got.save_inv_std, want.save_inv_std, tol);
  expect_close("running_mean", got.running_mean, want.running_mean, tol);
  expect_close("running_var", got.running_var, want.running_var, tol);
  expect_close("y", got.y, want.y, tol);
}

// Every activation at every block size and partition for one shape.
void check_training_forward(const Shape& shape) {
  for (BnActivation act : kActivations) {
    const BatchNormGeometry g = geometry(shape, act);
    const Inputs in = random_inputs(g, 11);
    const Forward twin = cpu_forward(g, in), ref = reference_forward(g, in);
    for (const auto [block, parts] : kLaunches) {
      SCOPED_TRACE(testing::Message() << "activation " << int(act) << " block " << block << " parts " << parts);
      const Forward got = emulated_forward(g, in, block, parts);
      expect_forward_close(got, twin, kTwinTraining);
      expect_forward_close(got, ref, kReference);
    }
  }
}

TEST(BnReluSimt, TrainingForwardOnPlanesMatchesCpuTwinAndReference) { check_training_forward(kPlanes); }
TEST(BnReluSimt, TrainingForwardDenseMatchesCpuTwinAndReference) { check_training_forward(kDense); }
TEST(BnReluSimt, TrainingForwardOneChannelMatchesCpuTwinAndReference) { check_training_forward(kOneChannel); }
TEST(BnReluSimt, TrainingForwardOneValuePerChannelMatchesCpuTwinAndReference) { check_training_forward(kOneValue); }

// mean 100, std 2 over m = 16 x 169: E[x^2] - mean^2 would cancel 2500-fold; the pivot keeps the
// statistics to float precision.
TEST(BnReluSimt, TrainingStatisticsKeepTheirDigitsFarFromZero) {
  const BatchNormGeometry g = geometry({16, 2, 13 * 13}, BnActivation::kNone);
  Inputs in = random_inputs(g, 5);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(100.0f, 2.0f);
  for (float& v : in.x) v = normal(rng);
  const Forward ref = reference_forward(g, in);
  for (int block : {48, 256}) {
    SCOPED_TRACE(testing::Message() << "block " << block);
    const Forward got = emulated_forward(g, in, block);
    expect_close("save_mean", got.save_mean, ref.save_mean, {0.0, 1e-7});
    expect_close("save_inv_std", got.save_inv_std, ref.save_inv_std, {0.0, 1e-6});
    expect_close("y", got.y, ref.y, kReference);
  }
}

// A fixed partition, thread assignment and tree: the same block size gives the same bits every
// run, whatever order the emulator runs the blocks in (a new shuffle every launch).
TEST(BnReluSimt, ReductionsAreDeterministic) {
  const BatchNormGeometry g = geometry(kPlanes, BnActivation::kReluAfter);
  const Inputs in = random_inputs(g, 17);
  const Forward first = emulated_forward(g, in, 96, 5), second = emulated_forward(g, in, 96, 5);
  auto same_bits = [](const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  };
  EXPECT_TRUE(same_bits(first.save_mean, second.save_mean));
  EXPECT_TRUE(same_bits(first.save_inv_std, second.save_inv_std));
  EXPECT_TRUE(same_bits(first.y, second.y));
}

// The partition the launchers use, at seed 000's shapes (batch 64): enough blocks to fill a
// 132-SM GPU, at least kBnMinSlice values per block, nothing else.
TEST(BnReluSimt, PartitionDependsOnTheGeometryAlone) {
  auto parts = [](int n, int c, int spatial) { return bn_parts(geometry({n, c, spatial}, BnActivation::kNone)); };
  EXPECT_EQ(parts(64, 32, 26 * 26), 16);  // 43,264 values per channel: 512 / 32 channels
  EXPECT_EQ(parts(64, 64, 11 * 11), 4);   // 7,744 values: 4 slices of at least 2,048
  EXPECT_EQ(parts(64, 512, 1), 1);        // dense: one block per channel already fills the GPU
  EXPECT_EQ(parts(1, 1, 1), 1);
  EXPECT_EQ(parts(1000, 1, 1000), 489);  // 10^6 values in one channel: the size bound
  EXPECT_EQ(parts(0, 4, 169), 1);        // an empty batch still has one slice per channel
}

TEST(BnReluSimt, InferenceMatchesCpuTwinAndReference) {
  for (const Shape& shape : kShapes) {
    for (BnActivation act : kActivations) {
      const BatchNormGeometry g = geometry(shape, act);
      const Inputs in = random_inputs(g, 23);
      std::vector<float> twin(in.x.size()), ref(in.x.size());
      cpu::bn_relu_forward_infer(g, in.x.data(), in.gamma.data(), in.beta.data(), in.running_mean.data(),
                                 in.running_var.data(), twin.data());
      for (int64_t k = 0; k < bn_relu_count(g); ++k) {
        const size_t c = size_t(k / g.spatial % g.c);
        const double u = act == BnActivation::kReluBefore ? relu_ref(in.x[size_t(k)]) : double(in.x[size_t(k)]);
        const double z = double(in.gamma[c]) * (u - double(in.running_mean[c])) /
                             std::sqrt(double(in.running_var[c]) + double(g.eps)) +
                         double(in.beta[c]);
        ref[size_t(k)] = float(act == BnActivation::kReluAfter ? relu_ref(z) : z);
      }
      for (int block : kBlockSizes) {
        SCOPED_TRACE(testing::Message() << "n " << g.n << " c " << g.c << " spatial " << g.spatial << " activation "
                                        << int(act) << " block " << block);
        std::vector<float> y(in.x.size(), NAN), inv_std(size_t(g.c), NAN);
        simt::launch(bn_finish_grid(g, block), dim3(unsigned(block)), bn_running_inv_std_kernel, g,
                     in.running_var.data(), inv_std.data());
        simt::launch(bn_relu_element_grid(g, block), dim3(unsigned(block)), bn_relu_infer_kernel, g, in.x.data(),
                     in.gamma.data(), in.beta.data(), in.running_mean.data(), inv_std.data(), y.data());
        for (int c = 0; c < g.c; ++c)  // the CPU twin's 1/std, bit for bit
          ASSERT_EQ(inv_std[size_t(c)], bn_inv_std(in.running_var[size_t(c)], g.eps)) << "channel " << c;
        expect_close("y", y, twin, kTwin);
        expect_close("y", y, ref, kReference);
      }
    }
  }
}

// The element-wise kernels are grid-stride loops: a grid smaller than the tensor still covers
// every value.
TEST(BnReluSimt, ElementWiseKernelsCoverTheTensorWithAnyGrid) {
  const BatchNormGeometry g = geometry(kPlanes, BnActivation::kReluBefore);
  const Inputs in = random_inputs(g, 29);
  const Forward twin = cpu_forward(g, in);
  for (unsigned blocks : {1u, 3u}) {
    SCOPED_TRACE(testing::Message() << "grid " << blocks);
    std::vector<float> y(in.x.size(), NAN);
    simt::launch(dim3(blocks), dim3(48), bn_relu_apply_kernel, g, in.x.data(), in.gamma.data(), in.beta.data(),
                 twin.save_mean.data(), twin.save_inv_std.data(), y.data());
    expect_close("y", y, twin.y, kTwin);
  }
}

struct Backward {
  std::vector<float> dx, dgamma, dbeta;
};

// The plain loop in double from the same saved statistics.
Backward reference_backward(const BatchNormGeometry& g, const Inputs& in, const std::vector<float>& dy,
                            const Forward& saved) {
  Backward b{std::vector<float>(in.x.size()), std::vector<float>(size_t(g.c)), std::vector<float>(size_t(g.c))};
  const double m = double(g.n) * g.spatial;
  const bool before = g.activation == BnActivation::kReluBefore, after = g.activation == BnActivation::kReluAfter;
  for (int c = 0; c < g.c; ++c) {
    const double mean = saved.save_mean[size_t(c)], inv_std = saved.save_inv_std[size_t(c)];
    const double gamma = in.gamma[size_t(c)], beta = in.beta[size_t(c)];
    std::vector<double> dy_eff, xhat;
    std::vector<int64_t> where;
    for (int i = 0; i < g.n; ++i) {
      for (int s = 0; s < g.spatial; ++s) {
        const int64_t k = (int64_t(i) * g.c + c) * g.spatial + s;
        const double u = before ? relu_ref(in.x[size_t(k)]) : double(in.x[size_t(k)]);
        const double z = gamma * (u - mean) * inv_std + beta;
        where.push_back(k);
        xhat.push_back((u - mean) * inv_std);
        dy_eff.push_back(after && !(z > 0.0) ? 0.0 : double(dy[size_t(k)]));
      }
    }
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (size_t j = 0; j < where.size(); ++j) {
      sum_dy += dy_eff[j];
      sum_dy_xhat += dy_eff[j] * xhat[j];
    }
    b.dbeta[size_t(c)] = float(sum_dy);
    b.dgamma[size_t(c)] = float(sum_dy_xhat);
    for (size_t j = 0; j < where.size(); ++j) {
      const double du = gamma * inv_std * (dy_eff[j] - sum_dy / m - xhat[j] * sum_dy_xhat / m);
      b.dx[size_t(where[j])] = float(before && !(in.x[size_t(where[j])] > 0.0f) ? 0.0 : du);
    }
  }
  return b;
}

void expect_backward_close(const Backward& got, const Backward& want, Tolerance tol) {
  expect_close("dbeta", got.dbeta, want.dbeta, tol);
  expect_close("dgamma", got.dgamma, want.dgamma, tol);
  expect_close("dx", got.dx, want.dx, tol);
}

void check_backward(const Shape& shape) {
  for (BnActivation act : kActivations) {
    const BatchNormGeometry g = geometry(shape, act);
    const Inputs in = random_inputs(g, 31);
    std::mt19937 rng(37);
    const std::vector<float> dy = uniform(bn_relu_count(g), -1.0f, 1.0f, rng);
    const Forward saved = cpu_forward(g, in);
    Backward twin{std::vector<float>(in.x.size()), std::vector<float>(size_t(g.c)), std::vector<float>(size_t(g.c))};
    cpu::bn_relu_backward(g, in.x.data(), dy.data(), in.gamma.data(), in.beta.data(), saved.save_mean.data(),
                          saved.save_inv_std.data(), twin.dx.data(), twin.dgamma.data(), twin.dbeta.data());
    const Backward ref = reference_backward(g, in, dy, saved);
    for (const auto [block, parts] : kLaunches) {
      SCOPED_TRACE(testing::Message() << "activation " << int(act) << " block " << block << " parts " << parts);
      Backward got{std::vector<float>(in.x.size(), NAN), std::vector<float>(size_t(g.c), NAN),
                   std::vector<float>(size_t(g.c), NAN)};
      test::emulated_grad_sums(g, block, parts > 0 ? parts : bn_parts(g), got.dgamma.data(), got.dbeta.data(),
                               bn_relu_grad_partial_kernel, in.x.data(), dy.data(), in.gamma.data(), in.beta.data(),
                               saved.save_mean.data(), saved.save_inv_std.data());
      simt::launch(bn_relu_element_grid(g, block), dim3(unsigned(block)), bn_relu_input_grad_kernel, g, in.x.data(),
                   dy.data(), in.gamma.data(), in.beta.data(), saved.save_mean.data(), saved.save_inv_std.data(),
                   got.dgamma.data(), got.dbeta.data(), got.dx.data());
      expect_backward_close(got, twin, kTwin);
      expect_backward_close(got, ref, kReference);
    }
  }
}

TEST(BnReluSimt, BackwardOnPlanesMatchesCpuTwinAndReference) { check_backward(kPlanes); }
TEST(BnReluSimt, BackwardDenseMatchesCpuTwinAndReference) { check_backward(kDense); }
TEST(BnReluSimt, BackwardOneChannelMatchesCpuTwinAndReference) { check_backward(kOneChannel); }
TEST(BnReluSimt, BackwardOneValuePerChannelMatchesCpuTwinAndReference) { check_backward(kOneValue); }

// Synchronised batch norm's dx += a + b * (u - mean): the kernel, the CPU twin and a plain loop
// agree (the same float expression: a few ulps where a build contracts it into an FMA); dx is
// added to, not overwritten; a ReLU before batch norm leaves clipped values alone.
TEST(BnReluSimt, InputGradAdjustmentMatchesCpuTwinAndReference) {
  for (const Shape& shape : kShapes) {
    for (BnActivation act : kActivations) {
      const BatchNormGeometry g = geometry(shape, act);
      std::mt19937 rng(31);
      const std::vector<float> x = uniform(bn_relu_count(g), -1.5f, 2.0f, rng),
                               dx = uniform(bn_relu_count(g), -1, 1, rng), mean = uniform(g.c, -0.2f, 0.2f, rng),
                               a = uniform(g.c, -1, 1, rng), b = uniform(g.c, -1, 1, rng);
      std::vector<float> twin = dx, ref = dx;
      cpu::bn_input_grad_adjust(g, x.data(), mean.data(), a.data(), b.data(), twin.data());
      for (int64_t k = 0; k < bn_relu_count(g); ++k) {
        const size_t c = size_t(k / g.spatial % g.c), i = size_t(k);
        if (act == BnActivation::kReluBefore && !(x[i] > 0.0f)) continue;
        const double u = act == BnActivation::kReluBefore ? relu_ref(x[i]) : double(x[i]);
        ref[i] = float(double(dx[i]) + double(a[c]) + double(b[c]) * (u - double(mean[c])));
      }
      for (int block : kBlockSizes) {
        SCOPED_TRACE(testing::Message() << "n " << g.n << " c " << g.c << " spatial " << g.spatial << " activation "
                                        << int(act) << " block " << block);
        std::vector<float> got = dx;
        simt::launch(bn_relu_element_grid(g, block), dim3(unsigned(block)), bn_input_grad_adjust_kernel, g, x.data(),
                     mean.data(), a.data(), b.data(), got.data());
        expect_close("dx", got, twin, kTwin);
        expect_close("dx", got, ref, kReference);
      }
    }
  }
}

}  // namespace
}  // namespace hdr

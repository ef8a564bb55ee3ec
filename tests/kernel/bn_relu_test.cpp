// Batch norm + ReLU on the CPU (kernels/cpu/bn_relu.cpp) against the maths: per-channel output
// statistics, a plain double-precision reference of every activation order, the Keras running
// statistics update, and finite differences of L = sum(y * r) for dx, dgamma and dbeta. Shapes
// are odd (13 x 13 planes, 5 channels, dense spatial = 1, single values) so no loop can lean on
// a multiple of a vector width.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kernels/ops.h"
#include "tests/kernel/grad_check.h"

namespace hdr {
namespace {

using test::all_close;

constexpr BnActivation kAllActivations[] = {BnActivation::kNone, BnActivation::kReluAfter, BnActivation::kReluBefore};
const char* activation_name(BnActivation act) {
  switch (act) {
    case BnActivation::kNone: return "none";
    case BnActivation::kReluAfter: return "relu after";
    case BnActivation::kReluBefore: return "relu before";
  }
  return "?";
}

BatchNormGeometry geometry(int n, int c, int spatial, BnActivation act) {
  BatchNormGeometry g;
  g.n = n;
  g.c = c;
  g.spatial = spatial;
  g.activation = act;
  return g;
}

int64_t volume(const BatchNormGeometry& g) { return int64_t(g.n) * g.c * g.spatial; }
int64_t index(const BatchNormGeometry& g, int i, int c, int s) { return (int64_t(i) * g.c + c) * g.spatial + s; }

std::vector<float> uniform(size_t count, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(count);
  for (float& e : v) e = dist(rng);
  return v;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

double relu_ref(double v) { return v > 0.0 ? v : 0.0; }

// The plain double-precision forward with batch statistics: z = bn(u) before any ReLU after it,
// y the output, mean and biased variance of u per channel.
struct Reference {
  std::vector<double> z, y, mean, var;
};

Reference reference_train(const BatchNormGeometry& g, const std::vector<double>& x, const std::vector<double>& gamma,
                          const std::vector<double>& beta) {
  Reference r{std::vector<double>(x.size()), std::vector<double>(x.size()), std::vector<double>(g.c),
              std::vector<double>(g.c)};
  const double m = double(g.n) * g.spatial;
  auto u = [&](int64_t k) { return g.activation == BnActivation::kReluBefore ? relu_ref(x[k]) : x[k]; };
  for (int c = 0; c < g.c; ++c) {
    double sum = 0.0;
    for (int i = 0; i < g.n; ++i)
      for (int s = 0; s < g.spatial; ++s) sum += u(index(g, i, c, s));
    const double mean = sum / m;
    double sq = 0.0;
    for (int i = 0; i < g.n; ++i)
      for (int s = 0; s < g.spatial; ++s) sq += (u(index(g, i, c, s)) - mean) * (u(index(g, i, c, s)) - mean);
    const double var = sq / m;
    r.mean[c] = mean;
    r.var[c] = var;
    const double inv_std = 1.0 / std::sqrt(var + double(g.eps));
    for (int i = 0; i < g.n; ++i) {
      for (int s = 0; s < g.spatial; ++s) {
        const int64_t k = index(g, i, c, s);
        r.z[k] = gamma[c] * (u(k) - mean) * inv_std + beta[c];
        r.y[k] = g.activation == BnActivation::kReluAfter ? relu_ref(r.z[k]) : r.z[k];
      }
    }
  }
  return r;
}

// Random inputs for one geometry: values centred off zero so both ReLU sides are populated.
struct Inputs {
  std::vector<float> x, gamma, beta;
};

Inputs random_inputs(const BatchNormGeometry& g, std::mt19937& rng) {
  Inputs in{uniform(size_t(volume(g)), -1.5f, 2.0f, rng), uniform(size_t(g.c), 0.5f, 1.5f, rng),
            uniform(size_t(g.c), -0.5f, 0.5f, rng)};
  return in;
}

// Forward with scratch running statistics; returns the saved (mean, inv_std) and y.
struct Saved {
  std::vector<float> mean, inv_std, y;
};

Saved forward_train(const BatchNormGeometry& g, const Inputs& in) {
  std::vector<float> running_mean(size_t(g.c), 0.0f), running_var(size_t(g.c), 1.0f);
  Saved s{std::vector<float>(size_t(g.c)), std::vector<float>(size_t(g.c)), std::vector<float>(in.x.size())};
  cpu::bn_relu_forward_train(g, in.x.data(), in.gamma.data(), in.beta.data(), running_mean.data(), running_var.data(),
                             s.mean.data(), s.inv_std.data(), s.y.data());
  return s;
}

TEST(BnReluTest, TrainingOutputHasMeanBetaAndStdGammaPerChannel) {
  // A large batch far from zero (mean 100, std 2: E[x^2] - mean^2 cancels 2500-fold) must keep
  // its statistics over m = 43264 values.
  const BatchNormGeometry g = geometry(64, 3, 26 * 26, BnActivation::kNone);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(100.0f, 2.0f);
  Inputs in{std::vector<float>(size_t(volume(g))), {0.5f, 1.0f, 2.0f}, {-1.0f, 0.0f, 3.0f}};
  for (float& v : in.x) v = normal(rng);
  const Saved s = forward_train(g, in);

  // Mean and (biased) variance of one channel of a tensor, two-pass in double.
  const double m = double(g.n) * g.spatial;
  auto moments = [&](const std::vector<float>& t, int c) {
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < g.n; ++i)
      for (int k = 0; k < g.spatial; ++k) sum += t[size_t(index(g, i, c, k))];
    const double mean = sum / m;
    for (int i = 0; i < g.n; ++i)
      for (int k = 0; k < g.spatial; ++k) sq += std::pow(t[size_t(index(g, i, c, k))] - mean, 2);
    return std::pair{mean, sq / m};
  };
  for (int c = 0; c < g.c; ++c) {
    const auto [x_mean, x_var] = moments(in.x, c);
    const auto [y_mean, y_var] = moments(s.y, c);
    const double gamma = in.gamma[size_t(c)];
    EXPECT_NEAR(y_mean, in.beta[size_t(c)], 1e-5 * gamma) << "channel " << c;
    // bn divides by sqrt(var + eps), not by the std itself.
    EXPECT_NEAR(std::sqrt(y_var), gamma * std::sqrt(x_var / (x_var + g.eps)), 1e-5 * gamma) << "channel " << c;
    EXPECT_NEAR(s.mean[size_t(c)], x_mean, 1e-6 * x_mean) << "channel " << c;
    EXPECT_NEAR(s.inv_std[size_t(c)], 1.0 / std::sqrt(x_var + g.eps), 1e-5 / std::sqrt(x_var)) << "channel " << c;
  }
}

TEST(BnReluTest, TrainingMatchesReferenceForEveryActivation) {
  struct Shape {
    int n, c, spatial;
  };
  // c = 130 with one position: the dense path's chunks of 64 channels, the last one partial.
  for (const Shape shape : {Shape{3, 5, 13 * 13}, Shape{7, 1, 1}, Shape{5, 9, 1}, Shape{4, 130, 1}, Shape{2, 1, 11}}) {
    for (const BnActivation act : kAllActivations) {
      SCOPED_TRACE(
          fmt::format("n={} c={} spatial={} activation {}", shape.n, shape.c, shape.spatial, activation_name(act)));
      const BatchNormGeometry g = geometry(shape.n, shape.c, shape.spatial, act);
      std::mt19937 rng(11);
      const Inputs in = random_inputs(g, rng);
      const std::vector<float> running_mean0 = uniform(size_t(g.c), -1.0f, 1.0f, rng);
      const std::vector<float> running_var0 = uniform(size_t(g.c), 0.5f, 2.0f, rng);
      std::vector<float> running_mean = running_mean0, running_var = running_var0;
      std::vector<float> save_mean(size_t(g.c)), save_inv_std(size_t(g.c));
      std::vector<float> y(in.x.size(), std::numeric_limits<float>::quiet_NaN());
      cpu::bn_relu_forward_train(g, in.x.data(), in.gamma.data(), in.beta.data(), running_mean.data(),
                                 running_var.data(), save_mean.data(), save_inv_std.data(), y.data());

      const Reference ref = reference_train(g, to_double(in.x), to_double(in.gamma), to_double(in.beta));
      const double m = double(g.n) * g.spatial;
      std::vector<double> inv_std(size_t(g.c)), expect_running_mean(size_t(g.c)), expect_running_var(size_t(g.c));
      for (size_t c = 0; c < size_t(g.c); ++c) {
        inv_std[c] = 1.0 / std::sqrt(ref.var[c] + g.eps);
        const double momentum = g.momentum;
        expect_running_mean[c] = momentum * running_mean0[c] + (1.0 - momentum) * ref.mean[c];
        expect_running_var[c] = momentum * running_var0[c] + (1.0 - momentum) * ref.var[c] * m / (m - 1.0);
      }
      EXPECT_TRUE(all_close("y", y, ref.y, 1e-5, 1e-5));
      // Planes are summed in float (then across planes in double): the summation order the compiler
      // picks (vectorised, or not as under ASan) moves the mean by up to ~2e-6 relative.
      EXPECT_TRUE(all_close("save_mean", save_mean, ref.mean, 1e-6, 1e-5));
      EXPECT_TRUE(all_close("save_inv_std", save_inv_std, inv_std, 0.0, 1e-5));
      EXPECT_TRUE(all_close("running_mean", running_mean, expect_running_mean, 1e-6, 1e-5));
      EXPECT_TRUE(all_close("running_var", running_var, expect_running_var, 0.0, 1e-6));
    }
  }
}

TEST(BnReluTest, SingleValueChannelGivesBetaAndFiniteStatistics) {
  // m = 1: the variance is 0 and the unbiased correction m / (m - 1) must not divide by zero.
  const BatchNormGeometry g = geometry(1, 1, 1, BnActivation::kNone);
  const float x = 3.5f, gamma = 2.0f, beta = 0.25f;
  float running_mean = 0.0f, running_var = 1.0f, save_mean = 0.0f, save_inv_std = 0.0f, y = 0.0f;
  cpu::bn_relu_forward_train(g, &x, &gamma, &beta, &running_mean, &running_var, &save_mean, &save_inv_std, &y);
  EXPECT_FLOAT_EQ(y, beta);
  EXPECT_FLOAT_EQ(save_mean, x);
  EXPECT_NEAR(save_inv_std, 1.0 / std::sqrt(double(g.eps)), 1e-3);
  EXPECT_NEAR(running_mean, (1.0 - g.momentum) * x, 1e-6);
  EXPECT_NEAR(running_var, g.momentum * 1.0, 1e-6);
}

TEST(BnReluTest, InferenceUsesRunningStatistics) {
  for (const BnActivation act : kAllActivations) {
    SCOPED_TRACE(activation_name(act));
    const BatchNormGeometry g = geometry(3, 5, 13 * 13, act);
    std::mt19937 rng(5);
    const Inputs in = random_inputs(g, rng);
    const std::vector<float> running_mean = uniform(size_t(g.c), -0.5f, 1.0f, rng);
    const std::vector<float> running_var = uniform(size_t(g.c), 0.2f, 2.0f, rng);
    std::vector<float> y(in.x.size(), std::numeric_limits<float>::quiet_NaN());
    cpu::bn_relu_forward_infer(g, in.x.data(), in.gamma.data(), in.beta.data(), running_mean.data(), running_var.data(),
                               y.data());

    std::vector<double> expected(in.x.size());
    for (int i = 0; i < g.n; ++i) {
      for (int c = 0; c < g.c; ++c) {
        const double inv_std = 1.0 / std::sqrt(double(running_var[size_t(c)]) + g.eps);
        for (int s = 0; s < g.spatial; ++s) {
          const size_t k = size_t(index(g, i, c, s));
          const double u = act == BnActivation::kReluBefore ? relu_ref(in.x[k]) : in.x[k];
          const double z = in.gamma[size_t(c)] * (u - running_mean[size_t(c)]) * inv_std + in.beta[size_t(c)];
          expected[k] = act == BnActivation::kReluAfter ? relu_ref(z) : z;
        }
      }
    }
    EXPECT_TRUE(all_close("y", y, expected, 1e-5, 1e-5));
  }
}

// Inputs whose finite differences never cross a ReLU kink: |x| >= 0.1 for the ReLU before, and
// for the ReLU after, a seed whose pre-activations all keep |z| >= 1e-3 (the step moves z by
// ~1e-5).
Inputs inputs_away_from_kinks(const BatchNormGeometry& g) {
  for (unsigned seed = 1; seed < 200; ++seed) {
    std::mt19937 rng(seed);
    Inputs in = random_inputs(g, rng);
    if (g.activation == BnActivation::kReluBefore) {
      std::bernoulli_distribution positive(0.6);
      for (float& v : in.x) v = (positive(rng) ? 1.0f : -1.0f) * (0.1f + std::abs(v));
      return in;
    }
    if (g.activation == BnActivation::kNone) return in;
    const Reference ref = reference_train(g, to_double(in.x), to_double(in.gamma), to_double(in.beta));
    const double closest = std::abs(
        *std::min_element(ref.z.begin(), ref.z.end(), [](double a, double b) { return std::abs(a) < std::abs(b); }));
    if (closest >= 1e-3) return in;
  }
  ADD_FAILURE() << "no seed keeps every value away from the ReLU kink";
  return {};
}

TEST(BnReluTest, BackwardMatchesFiniteDifferences) {
  struct Shape {
    int n, c, spatial;
  };
  for (const Shape shape : {Shape{3, 5, 7 * 7}, Shape{6, 4, 1}, Shape{3, 130, 1}}) {
    for (const BnActivation act : kAllActivations) {
      SCOPED_TRACE(
          fmt::format("n={} c={} spatial={} activation {}", shape.n, shape.c, shape.spatial, activation_name(act)));
      const BatchNormGeometry g = geometry(shape.n, shape.c, shape.spatial, act);
      const Inputs in = inputs_away_from_kinks(g);
      ASSERT_FALSE(in.x.empty());
      std::mt19937 rng(99);
      const std::vector<float> r = uniform(in.x.size(), -1.0f, 1.0f, rng);  // dL/dy

      const Saved saved = forward_train(g, in);
      const float nan = std::numeric_limits<float>::quiet_NaN();  // every output must be written
      std::vector<float> dx(in.x.size(), nan), dgamma(size_t(g.c), nan), dbeta(size_t(g.c), nan);
      cpu::bn_relu_backward(g, in.x.data(), r.data(), in.gamma.data(), in.beta.data(), saved.mean.data(),
                            saved.inv_std.data(), dx.data(), dgamma.data(), dbeta.data());

      std::vector<double> x = to_double(in.x), gamma = to_double(in.gamma), beta = to_double(in.beta);
      auto loss = [&] {
        const Reference ref = reference_train(g, x, gamma, beta);
        double sum = 0.0;
        for (size_t k = 0; k < ref.y.size(); ++k) sum += ref.y[k] * r[k];
        return sum;
      };
      EXPECT_TRUE(all_close("dx", dx, test::numeric_gradient(x, loss), 1e-4, 1e-3));
      EXPECT_TRUE(all_close("dgamma", dgamma, test::numeric_gradient(gamma, loss), 1e-4, 1e-3));
      EXPECT_TRUE(all_close("dbeta", dbeta, test::numeric_gradient(beta, loss), 1e-4, 1e-3));
    }
  }
}

}  // namespace
}  // namespace hdr

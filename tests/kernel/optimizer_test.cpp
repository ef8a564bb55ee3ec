// Optimizer update (kernels/optimizer.cuh, kernels/cpu/optimizer.cpp): every kind against a
// double-precision loop of the Keras formulas over several steps on odd-sized segments with a
// gap, decay confined to decay segments, Adam's first step of size lr, and convergence on a
// quadratic.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/ops.h"
#include "kernels/optimizer.cuh"
#include "tests/kernel/test_values.h"

namespace hdr {
namespace {

using test::make_values;

// Segments of odd sizes, decay on and off, and elements 42..44 in no segment at all.
const std::vector<ParamSegment> kSegments = {{0, 37, true}, {37, 5, false}, {45, 129, true}, {174, 3, false}};

// kSegments with an L2 penalty on the decay segments (the conv/dense kernels of a real model).
std::vector<ParamSegment> with_l2(float l2) {
  auto segments = kSegments;
  for (ParamSegment& seg : segments) seg.l2 = seg.decay ? l2 : 0.0f;
  return segments;
}
constexpr size_t kParams = 177;

struct ReferenceState {
  std::vector<double> w, m, v;
};

// The Keras formulas, one weight at a time, in double.
void reference_update(const OptimizerParams& p, const std::vector<ParamSegment>& segments, double lr, int64_t t,
                      const std::vector<float>& grads, ReferenceState& s) {
  for (const ParamSegment& seg : segments) {
    for (size_t i = seg.offset; i < seg.offset + seg.size; ++i) {
      double& w = s.w[i];
      double& m = s.m[i];
      const double g = grads[i] + 2.0 * double(seg.l2) * w;
      if (seg.decay) w -= lr * p.weight_decay * w;
      if (p.kind == OptimizerKind::kSgd) {
        m = p.momentum * m - lr * g;
        w += p.nesterov ? p.momentum * m - lr * g : m;
      } else {
        double& v = s.v[i];
        m = p.beta1 * m + (1 - p.beta1) * g;
        v = p.beta2 * v + (1 - p.beta2) * g * g;
        const double lr_t = lr * std::sqrt(1 - std::pow(double(p.beta2), double(t))) /
                            (1 - std::pow(double(p.beta1), double(t)));
        w -= lr_t * m / (std::sqrt(v) + p.eps);
      }
    }
  }
}

void expect_matches_reference(const OptimizerParams& p, const char* name, float l2 = 0.0f) {
  const std::vector<ParamSegment> segments = with_l2(l2);
  auto w = make_values(kParams, 0.1f, 1.0f, 1, true);
  std::vector<float> m(kParams, 0.0f), v(kParams, 0.0f);
  ReferenceState ref{std::vector<double>(w.begin(), w.end()), std::vector<double>(kParams, 0.0),
                     std::vector<double>(kParams, 0.0)};
  const auto untouched = w;
  for (int64_t step = 1; step <= 6; ++step) {
    const float lr = 0.01f / float(step);  // a schedule: the rate changes between steps
    const auto grads = make_values(kParams, 0.05f, 2.0f, uint32_t(100 + step), true);
    cpu::optimizer_update(p, lr, step, segments.data(), int(segments.size()), w.data(), grads.data(), m.data(),
                          v.data());
    reference_update(p, segments, lr, step, grads, ref);
    for (size_t i = 0; i < kParams; ++i) {
      const bool in_segment = i < 42 || i >= 45;
      if (!in_segment) {
        ASSERT_EQ(w[i], untouched[i]) << name << ": element " << i << " belongs to no segment";
        continue;
      }
      ASSERT_NEAR(w[i], ref.w[i], 1e-5 * (1 + std::abs(ref.w[i]))) << name << " step " << step << " w[" << i << "]";
      ASSERT_NEAR(m[i], ref.m[i], 1e-5 * (1 + std::abs(ref.m[i]))) << name << " step " << step << " m[" << i << "]";
      if (p.kind != OptimizerKind::kSgd) {
        ASSERT_NEAR(v[i], ref.v[i], 1e-5 * (1 + std::abs(ref.v[i]))) << name << " step " << step << " v[" << i << "]";
      }
    }
  }
}

TEST(Optimizer, AdamMatchesReferenceLoop) {
  OptimizerParams p;
  p.kind = OptimizerKind::kAdam;
  expect_matches_reference(p, "adam");
  expect_matches_reference(p, "adam+l2", 0.05f);
  // A large eps tells Keras's sqrt(v) + eps (bias correction in the rate) from sqrt(v_hat) + eps.
  p.eps = 0.3f;
  expect_matches_reference(p, "adam, large eps");
}

TEST(Optimizer, AdamWMatchesReferenceLoop) {
  OptimizerParams p;
  p.kind = OptimizerKind::kAdamW;
  p.weight_decay = 0.5f;
  expect_matches_reference(p, "adamw");
}

TEST(Optimizer, SgdMatchesReferenceLoop) {
  OptimizerParams p;
  p.kind = OptimizerKind::kSgd;
  expect_matches_reference(p, "sgd momentum");
  p.nesterov = true;
  expect_matches_reference(p, "sgd nesterov");
  p.weight_decay = 0.3f;
  expect_matches_reference(p, "sgd nesterov + decay + l2", 0.01f);
  p.momentum = 0.0f;
  p.nesterov = false;
  expect_matches_reference(p, "plain sgd + decay + l2", 0.01f);
}

// With zero gradients only decay moves a weight, so non-decay segments must stay exactly put.
TEST(Optimizer, DecayOnlyOnDecaySegments) {
  for (OptimizerKind kind : {OptimizerKind::kAdam, OptimizerKind::kAdamW, OptimizerKind::kSgd}) {
    for (bool decoupled : {false, true}) {
      OptimizerParams p;
      p.kind = kind;
      if (decoupled) p.weight_decay = 0.1f;
      const std::vector<ParamSegment> segments = with_l2(decoupled ? 0.0f : 0.1f);
      const auto start = make_values(kParams, 0.1f, 1.0f, 4, true);
      auto w = start;
      std::vector<float> m(kParams, 0.0f), v(kParams, 0.0f);
      const std::vector<float> zero_grads(kParams, 0.0f);
      cpu::optimizer_update(p, 0.01f, 1, segments.data(), int(segments.size()), w.data(), zero_grads.data(), m.data(),
                            v.data());
      for (const ParamSegment& seg : segments) {
        for (size_t i = seg.offset; i < seg.offset + seg.size; ++i) {
          if (seg.decay) {
            EXPECT_LT(std::abs(w[i]), std::abs(start[i])) << "decay segment element " << i;
          } else {
            EXPECT_EQ(w[i], start[i]) << "non-decay segment element " << i;
          }
        }
      }
    }
  }
}

// Adam's first step: m = (1 - b1) g, v = (1 - b2) g^2, so the move is lr * g / |g| (up to eps).
TEST(Optimizer, AdamFirstStepIsLearningRateTimesSign) {
  OptimizerParams p;
  const float lr = 0.003f;
  const size_t count = 1001;
  const auto grads = make_values(count, 0.01f, 10.0f, 77, true);
  const auto start = make_values(count, 0.1f, 1.0f, 78, true);
  auto w = start;
  std::vector<float> m(count, 0.0f), v(count, 0.0f);
  const ParamSegment all{0, count, true};
  cpu::optimizer_update(p, lr, 1, &all, 1, w.data(), grads.data(), m.data(), v.data());
  for (size_t i = 0; i < count; ++i) {
    const double move = double(w[i]) - double(start[i]);
    EXPECT_NEAR(move, grads[i] > 0 ? -lr : lr, lr * 1e-3) << "element " << i;
  }
}

// Minimise 0.5 * sum a_i (w_i - c_i)^2; the gradient is computed here each step.
double run_quadratic(const OptimizerParams& p, float lr, int steps) {
  const size_t count = 53;
  const auto curvature = make_values(count, 0.5f, 2.0f, 11, false);
  const auto target = make_values(count, 0.0f, 3.0f, 12, true);
  std::vector<float> w(count, 0.0f), m(count, 0.0f), v(count, 0.0f), grads(count);
  const ParamSegment all{0, count, false};
  for (int step = 1; step <= steps; ++step) {
    for (size_t i = 0; i < count; ++i) grads[i] = curvature[i] * (w[i] - target[i]);
    // A decaying schedule lets Adam settle instead of hovering at distance ~lr.
    const float rate = lr / (1.0f + 0.01f * float(step));
    cpu::optimizer_update(p, rate, step, &all, 1, w.data(), grads.data(), m.data(), v.data());
  }
  double worst = 0;
  for (size_t i = 0; i < count; ++i) worst = std::max(worst, std::abs(double(w[i]) - target[i]));
  return worst;
}

TEST(Optimizer, QuadraticConverges) {
  OptimizerParams adam;
  EXPECT_LT(run_quadratic(adam, 0.1f, 3000), 1e-2);
  OptimizerParams sgd;
  sgd.kind = OptimizerKind::kSgd;
  EXPECT_LT(run_quadratic(sgd, 0.2f, 1000), 1e-4);
  sgd.nesterov = true;
  EXPECT_LT(run_quadratic(sgd, 0.2f, 1000), 1e-4);
}

// The weight average (kernels/cpu/optimizer.cpp weight_average) against the plain formula in
// double over several updates with changing decays, on a count above the parallel threshold.
TEST(WeightAverage, MatchesExponentialMovingAverageInDouble) {
  const size_t count = 40000;
  std::vector<float> average = make_values(count, 0.1f, 1.0f, 7, true);
  std::vector<double> expected(average.begin(), average.end());
  for (const float decay : {0.5f, 0.9f, 0.999f}) {
    const std::vector<float> w = make_values(count, 0.1f, 1.0f, uint32_t(decay * 1000), true);
    cpu::weight_average(int64_t(count), decay, w.data(), average.data());
    for (size_t i = 0; i < count; ++i) expected[i] = double(decay) * expected[i] + (1.0 - double(decay)) * w[i];
  }
  for (size_t i = 0; i < count; ++i) ASSERT_NEAR(average[i], expected[i], 1e-6) << "element " << i;
}

// Once the average equals the weights it stays exactly there (no drift from rounding): a weight
// that training no longer moves keeps its value in the saved model.
TEST(WeightAverage, StaysExactlyOnWeightsItHasReached) {
  const std::vector<float> w = make_values(333, 0.1f, 1.0f, 3, true);
  std::vector<float> average = w;
  for (const float decay : {0.5f, 0.999f}) cpu::weight_average(333, decay, w.data(), average.data());
  EXPECT_EQ(average, w);
}

}  // namespace
}  // namespace hdr

// Softmax, cross-entropy and evaluation counts on the CPU (kernels/cpu/softmax_xent.cpp) against
// a double-precision reference (with and without label smoothing), finite differences of the
// mean loss, and the invariants: rows of
// the gradient sum to zero, probabilities sum to one, confusion counts sum to n with the correct
// predictions on the diagonal, and logits of 1e4 neither overflow nor lose the loss.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "kernels/ops.h"
#include "tests/kernel/grad_check.h"

namespace hdr {
namespace {

using test::all_close;

constexpr int kClasses = 10;

struct Batch {
  int n = 0;
  std::vector<float> logits;
  std::vector<uint8_t> labels;
};

Batch random_batch(int n, float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> logit(0.0f, spread);
  std::uniform_int_distribution<int> label(0, kClasses - 1);
  Batch b{n, std::vector<float>(size_t(n) * kClasses), std::vector<uint8_t>(size_t(n))};
  for (float& v : b.logits) v = logit(rng);
  for (uint8_t& l : b.labels) l = uint8_t(label(rng));
  return b;
}

// The smoothed target of a class, written out: (1 - s) for the label plus s spread evenly.
double target(bool is_label, double smoothing) { return (is_label ? 1.0 - smoothing : 0.0) + smoothing / kClasses; }

// The plain reference in double: probabilities, per-row loss -sum_k q_k log p_k with the smoothed
// target q (one-hot when smoothing is 0) and first argmax.
struct Reference {
  std::vector<double> probs, loss;
  std::vector<int> argmax;
};

template <class T>
Reference reference(int n, const std::vector<T>& logits, const std::vector<uint8_t>& labels, double smoothing = 0.0) {
  Reference r{std::vector<double>(logits.size()), std::vector<double>(size_t(n)), std::vector<int>(size_t(n))};
  for (int i = 0; i < n; ++i) {
    const T* row = logits.data() + size_t(i) * kClasses;
    int top = 0;
    for (int k = 1; k < kClasses; ++k)
      if (row[k] > row[top]) top = k;
    double sum = 0.0;
    for (int k = 0; k < kClasses; ++k) sum += std::exp(double(row[k]) - double(row[top]));
    for (int k = 0; k < kClasses; ++k)
      r.probs[size_t(i) * kClasses + size_t(k)] = std::exp(double(row[k]) - double(row[top])) / sum;
    const double log_sum_exp = double(row[top]) + std::log(sum);
    for (int k = 0; k < kClasses; ++k)
      r.loss[size_t(i)] += target(k == labels[size_t(i)], smoothing) * (log_sum_exp - double(row[k]));
    r.argmax[size_t(i)] = top;
  }
  return r;
}

double total(const std::vector<double>& v) {
  double s = 0.0;
  for (double e : v) s += e;
  return s;
}

int correct(const Reference& r, const std::vector<uint8_t>& labels) {
  int count = 0;
  for (size_t i = 0; i < labels.size(); ++i) count += r.argmax[i] == labels[i];
  return count;
}

TEST(SoftmaxXentTest, MatchesDoubleReference) {
  // One thread and, above the threshold, the parallel loop; plain and smoothed targets.
  for (const auto& [n, smoothing] :
       {std::pair{37, 0.0f}, std::pair{3000, 0.0f}, std::pair{37, 0.1f}, std::pair{3000, 0.25f}}) {
    SCOPED_TRACE(fmt::format("n = {}, smoothing = {}", n, smoothing));
    const Batch b = random_batch(n, 3.0f, 1);
    std::vector<float> dlogits(b.logits.size());
    double metrics[2] = {1.5, 2.0};  // accumulated into, not overwritten
    cpu::softmax_xent(n, kClasses, b.logits.data(), b.labels.data(), smoothing, dlogits.data(), metrics);

    const Reference ref = reference(n, b.logits, b.labels, smoothing);
    std::vector<double> expected(b.logits.size());
    for (size_t k = 0; k < expected.size(); ++k) {
      const bool is_label = int(k % kClasses) == b.labels[k / kClasses];
      expected[k] = (ref.probs[k] - target(is_label, smoothing)) / n;
    }
    EXPECT_TRUE(all_close("dlogits", dlogits, expected, 3e-7 / n, 1e-5));
    EXPECT_NEAR(metrics[0], 1.5 + total(ref.loss), 1e-5 * total(ref.loss));
    EXPECT_EQ(metrics[1], 2.0 + correct(ref, b.labels));
  }
}

TEST(SoftmaxXentTest, GradientRowsSumToZero) {
  const Batch b = random_batch(29, 5.0f, 2);
  std::vector<float> dlogits(b.logits.size());
  double metrics[2] = {0.0, 0.0};
  cpu::softmax_xent(b.n, kClasses, b.logits.data(), b.labels.data(), 0.2f, dlogits.data(), metrics);
  for (int i = 0; i < b.n; ++i) {
    double sum = 0.0;
    for (int k = 0; k < kClasses; ++k) sum += dlogits[size_t(i) * kClasses + size_t(k)];
    EXPECT_NEAR(sum, 0.0, 1e-6 / b.n) << "row " << i;
  }
}

TEST(SoftmaxXentTest, GradientMatchesFiniteDifferencesOfMeanLoss) {
  for (const float smoothing : {0.0f, 0.1f}) {
    SCOPED_TRACE(fmt::format("smoothing = {}", smoothing));
    const Batch b = random_batch(7, 2.0f, 3);
    std::vector<float> dlogits(b.logits.size());
    double metrics[2] = {0.0, 0.0};
    cpu::softmax_xent(b.n, kClasses, b.logits.data(), b.labels.data(), smoothing, dlogits.data(), metrics);

    std::vector<double> point(b.logits.begin(), b.logits.end());
    auto mean_loss = [&] { return total(reference(b.n, point, b.labels, smoothing).loss) / b.n; };
    EXPECT_TRUE(all_close("dlogits", dlogits, test::numeric_gradient(point, mean_loss), 1e-7, 1e-4));
  }
}

// Smoothing keeps the loss from reaching 0: a confident right answer still pays for the mass it
// gives no other class (with s = 0.1 and logits 20 / 0: 0.09 * 20 plus the log-sum-exp).
TEST(SoftmaxXentTest, SmoothedLossOfAConfidentRightAnswer) {
  std::vector<float> logits(kClasses, 0.0f);
  logits[4] = 20.0f;
  const std::vector<uint8_t> labels = {4};
  std::vector<float> dlogits(logits.size());
  double metrics[2] = {0.0, 0.0};
  cpu::softmax_xent(1, kClasses, logits.data(), labels.data(), 0.1f, dlogits.data(), metrics);
  const double lse = 20.0 + std::log(1.0 + 9.0 * std::exp(-20.0));
  EXPECT_NEAR(metrics[0], lse - (0.9 + 0.01) * 20.0, 1e-5);
  EXPECT_NEAR(dlogits[4], 1.0 - 0.91, 1e-6);  // p(4) ~ 1, target 0.91
  EXPECT_NEAR(dlogits[0], 0.0 - 0.01, 1e-6);  // p(0) ~ 0, target 0.01
}

TEST(SoftmaxXentTest, LargeLogitsStayFinite) {
  // Row 0: confident and right (loss ~ 0); row 1: confident and wrong (loss ~ 2e4, where
  // log(probability) would be log(0)); row 2: two equal large maxima.
  const std::vector<float> logits = {
      1e4f,  0,    -1e4f, 0, 0, 0, 0, 0, 0, 0,  //
      1e4f,  0,    -1e4f, 0, 0, 0, 0, 0, 0, 0,  //
      -1e4f, 1e4f, 1e4f,  0, 0, 0, 0, 0, 0, 0,  //
  };
  const std::vector<uint8_t> labels = {0, 2, 2};
  std::vector<float> dlogits(logits.size());
  double metrics[2] = {0.0, 0.0};
  cpu::softmax_xent(3, kClasses, logits.data(), labels.data(), 0.0f, dlogits.data(), metrics);
  for (float g : dlogits) EXPECT_TRUE(std::isfinite(g));
  EXPECT_NEAR(metrics[0], 0.0 + 2e4 + std::log(2.0), 1e-2);
  EXPECT_EQ(metrics[1], 1.0);  // row 2's first maximum is class 1, not the label 2
  EXPECT_NEAR(dlogits[2 * kClasses + 2], (0.5 - 1.0) / 3, 1e-7);

  std::vector<float> probs(logits.size());
  cpu::softmax(3, kClasses, logits.data(), probs.data());
  for (float p : probs) EXPECT_TRUE(std::isfinite(p));
  EXPECT_NEAR(probs[0], 1.0, 1e-7);
  EXPECT_NEAR(probs[2 * kClasses + 1], 0.5, 1e-7);
}

TEST(SoftmaxXentTest, SoftmaxMatchesReferenceAndRowsSumToOne) {
  const Batch b = random_batch(41, 4.0f, 4);
  std::vector<float> probs(b.logits.size());
  cpu::softmax(b.n, kClasses, b.logits.data(), probs.data());
  EXPECT_TRUE(all_close("probs", probs, reference(b.n, b.logits, b.labels).probs, 1e-8, 1e-5));
  for (int i = 0; i < b.n; ++i) {
    double sum = 0.0;
    for (int k = 0; k < kClasses; ++k) sum += probs[size_t(i) * kClasses + size_t(k)];
    EXPECT_NEAR(sum, 1.0, 1e-6) << "row " << i;
  }
}

TEST(SoftmaxXentTest, EvaluateBatchCountsConfusionAndMetrics) {
  for (const int n : {53, 4000}) {
    SCOPED_TRACE(fmt::format("n = {}", n));
    Batch b = random_batch(n, 1.5f, 5);
    b.logits[0 * kClasses + 3] = b.logits[0 * kClasses + 7] = 100.0f;  // a tie: the first (3) is the prediction
    std::vector<int64_t> confusion(kClasses * kClasses, 0);
    double metrics[2] = {0.0, 0.0};
    cpu::evaluate_batch(n, kClasses, b.logits.data(), b.labels.data(), confusion.data(), metrics);

    const Reference ref = reference(n, b.logits, b.labels);
    ASSERT_EQ(ref.argmax[0], 3);
    std::vector<int64_t> expected(confusion.size(), 0);
    for (int i = 0; i < n; ++i) ++expected[size_t(b.labels[size_t(i)]) * kClasses + size_t(ref.argmax[size_t(i)])];
    EXPECT_EQ(confusion, expected);

    int64_t sum = 0, diagonal = 0;
    for (int l = 0; l < kClasses; ++l) {
      for (int p = 0; p < kClasses; ++p) sum += confusion[size_t(l) * kClasses + size_t(p)];
      diagonal += confusion[size_t(l) * kClasses + size_t(l)];
    }
    EXPECT_EQ(sum, n);
    EXPECT_EQ(double(diagonal), metrics[1]);
    EXPECT_EQ(metrics[1], correct(ref, b.labels));
    EXPECT_NEAR(metrics[0], total(ref.loss), 1e-5 * total(ref.loss));
  }
}

}  // namespace
}  // namespace hdr

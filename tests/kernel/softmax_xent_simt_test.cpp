// The softmax / cross-entropy kernels of kernels/softmax_xent.cuh, run through the CUDA
// emulation (kernels/simt_host.h) with the launchers' geometry at block sizes 32..256 (48 and 96:
// partial last warps), on batches of 1, 37 and 100 rows, against the CPU twin and a
// double-precision loop. A thread computes its row with the twin's own row functions, so rows
// agree with the twin to the last ulp or so (exp/log may be vectorised differently in the
// -march=native twin); the loss is summed in another order (per warp, then across warps), so it
// agrees to double rounding of float terms; counts agree exactly.
#include "kernels/simt_host.h"
// simt_host.h first: it enables the __global__ kernels of the .cuh.
#include "kernels/softmax_xent.cuh"

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
constexpr int kBatchSizes[] = {1, 37, 100};
constexpr int kClasses = 10;
constexpr Tolerance kTwin{1e-7, 1e-6};
constexpr Tolerance kReference{1e-6, 1e-5};

struct Batch {
  int n = 0;
  std::vector<float> logits;
  std::vector<uint8_t> labels;
};

// spread 4: confident rows, right and wrong, so both correct counts and large losses occur.
Batch random_batch(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> logit(0.0f, 4.0f);
  std::uniform_int_distribution<int> label(0, kClasses - 1);
  Batch b{n, std::vector<float>(size_t(n) * kClasses), std::vector<uint8_t>(size_t(n))};
  for (float& v : b.logits) v = logit(rng);
  for (uint8_t& l : b.labels) l = uint8_t(label(rng));
  return b;
}

void expect_close(std::string_view what, const std::vector<float>& got, const std::vector<float>& want, Tolerance tol) {
  const Comparison c = compare(got, want, tol);
  EXPECT_TRUE(c.ok()) << what << ": " << c.summary();
}

// The plain loop in double: probabilities, summed loss (against the target smoothed by s:
// 1 - s + s / classes for the label, s / classes elsewhere), correct count and confusion.
struct Reference {
  std::vector<float> probs, dlogits;
  double loss = 0.0, correct = 0.0;
  std::vector<int64_t> confusion;
};

Reference reference(const Batch& b, double smoothing = 0.0) {
  Reference r{std::vector<float>(b.logits.size()), std::vector<float>(b.logits.size()), 0.0, 0.0,
              std::vector<int64_t>(kClasses * kClasses, 0)};
  for (int i = 0; i < b.n; ++i) {
    const float* row = b.logits.data() + size_t(i) * kClasses;
    int top = 0;
    for (int k = 1; k < kClasses; ++k)
      if (row[k] > row[top]) top = k;
    double sum = 0.0;
    for (int k = 0; k < kClasses; ++k) sum += std::exp(double(row[k]) - double(row[top]));
    const int label = b.labels[size_t(i)];
    for (int k = 0; k < kClasses; ++k) {
      const double p = std::exp(double(row[k]) - double(row[top])) / sum;
      const double q = (k == label ? 1.0 - smoothing : 0.0) + smoothing / kClasses;
      r.probs[size_t(i) * kClasses + size_t(k)] = float(p);
      r.dlogits[size_t(i) * kClasses + size_t(k)] = float((p - q) / b.n);
      r.loss += q * (double(row[top]) + std::log(sum) - double(row[k]));
    }
    r.correct += top == label;
    ++r.confusion[size_t(label * kClasses + top)];
  }
  return r;
}

// metrics start away from zero: the kernels add to them.
constexpr double kMetricsStart[2] = {1.5, 2.0};

TEST(SoftmaxXentSimt, SoftmaxXentMatchesCpuTwinAndReference) {
  for (int n : kBatchSizes) {
    for (float smoothing : {0.0f, 0.1f}) {
      const Batch b = random_batch(n, 11 + unsigned(n));
      const Reference ref = reference(b, smoothing);
      std::vector<float> twin(b.logits.size());
      double twin_metrics[2] = {kMetricsStart[0], kMetricsStart[1]};
      cpu::softmax_xent(n, kClasses, b.logits.data(), b.labels.data(), smoothing, twin.data(), twin_metrics);
      for (int block : kBlockSizes) {
        SCOPED_TRACE(testing::Message() << "n " << n << " smoothing " << smoothing << " block " << block);
        std::vector<float> dlogits(b.logits.size(), NAN);
        double metrics[2] = {kMetricsStart[0], kMetricsStart[1]};
        simt::launch(softmax_rows_grid(n, block), dim3(unsigned(block)), softmax_xent_kernel, n, kClasses,
                     b.logits.data(), b.labels.data(), smoothing, dlogits.data(), metrics);
        expect_close("dlogits", dlogits, twin, kTwin);
        expect_close("dlogits", dlogits, ref.dlogits, kReference);
        EXPECT_NEAR(metrics[0], twin_metrics[0], 1e-6 * std::abs(twin_metrics[0]));
        EXPECT_NEAR(metrics[0], kMetricsStart[0] + ref.loss, 1e-5 * (1.0 + std::abs(ref.loss)));
        EXPECT_EQ(metrics[1], twin_metrics[1]);
        EXPECT_EQ(metrics[1], kMetricsStart[1] + ref.correct);
      }
    }
  }
}

// dlogits involve no cross-thread arithmetic: the same bits on every run and at every block size.
TEST(SoftmaxXentSimt, DlogitsAreTheSameBitsAtEveryBlockSize) {
  const Batch b = random_batch(37, 5);
  std::vector<float> first;
  for (int block : kBlockSizes) {
    std::vector<float> dlogits(b.logits.size(), NAN);
    double metrics[2] = {0.0, 0.0};
    simt::launch(softmax_rows_grid(b.n, block), dim3(unsigned(block)), softmax_xent_kernel, b.n, kClasses,
                 b.logits.data(), b.labels.data(), 0.1f, dlogits.data(), metrics);
    if (first.empty()) first = dlogits;
    EXPECT_EQ(std::memcmp(dlogits.data(), first.data(), first.size() * sizeof(float)), 0) << "block " << block;
  }
}

TEST(SoftmaxXentSimt, SoftmaxMatchesCpuTwinAndReference) {
  for (int n : kBatchSizes) {
    const Batch b = random_batch(n, 17 + unsigned(n));
    const Reference ref = reference(b);
    std::vector<float> twin(b.logits.size());
    cpu::softmax(n, kClasses, b.logits.data(), twin.data());
    for (int block : kBlockSizes) {
      SCOPED_TRACE(testing::Message() << "n " << n << " block " << block);
      std::vector<float> probs(b.logits.size(), NAN);
      simt::launch(softmax_rows_grid(n, block), dim3(unsigned(block)), softmax_kernel, n, kClasses, b.logits.data(),
                   probs.data());
      expect_close("probs", probs, twin, kTwin);
      expect_close("probs", probs, ref.probs, kReference);
    }
  }
}

TEST(SoftmaxXentSimt, EvaluateBatchMatchesCpuTwinAndReference) {
  for (int n : kBatchSizes) {
    const Batch b = random_batch(n, 23 + unsigned(n));
    const Reference ref = reference(b);
    std::vector<int64_t> twin_confusion(kClasses * kClasses, 3);  // counts accumulate, like metrics
    double twin_metrics[2] = {kMetricsStart[0], kMetricsStart[1]};
    cpu::evaluate_batch(n, kClasses, b.logits.data(), b.labels.data(), twin_confusion.data(), twin_metrics);
    for (int block : kBlockSizes) {
      SCOPED_TRACE(testing::Message() << "n " << n << " block " << block);
      std::vector<int64_t> confusion(kClasses * kClasses, 3);
      double metrics[2] = {kMetricsStart[0], kMetricsStart[1]};
      simt::launch(softmax_rows_grid(n, block), dim3(unsigned(block)), evaluate_batch_kernel, n, kClasses,
                   b.logits.data(), b.labels.data(), confusion.data(), metrics);
      EXPECT_EQ(confusion, twin_confusion);
      for (size_t k = 0; k < confusion.size(); ++k) EXPECT_EQ(confusion[k], 3 + ref.confusion[k]) << "cell " << k;
      EXPECT_NEAR(metrics[0], twin_metrics[0], 1e-6 * std::abs(twin_metrics[0]));
      EXPECT_NEAR(metrics[0], kMetricsStart[0] + ref.loss, 1e-5 * (1.0 + std::abs(ref.loss)));
      EXPECT_EQ(metrics[1], twin_metrics[1]);
      EXPECT_EQ(metrics[1], kMetricsStart[1] + ref.correct);
    }
  }
}

}  // namespace
}  // namespace hdr

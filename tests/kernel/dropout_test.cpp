// Dropout (kernels/dropout.cuh, kernels/cpu/dropout.cpp): the statistics (kept fraction 1 - p,
// preserved mean), backward applying the forward's recorded mask, independence from the batch
// split, separate streams per layer, and odd sizes (values and keep bits) against a plain
// reference loop.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/dropout.cuh"
#include "kernels/ops.h"

namespace hdr {
namespace {

// Reproducible inputs in [low, high) that are never zero when low > 0 (an LCG, not Philox,
// so the inputs are unrelated to the masks).
std::vector<float> make_values(size_t count, float low, float high, uint32_t seed) {
  std::vector<float> values(count);
  for (auto& value : values) {
    seed = seed * 1664525u + 1013904223u;
    value = low + (high - low) * float(seed >> 8) / 16777216.0f;
  }
  return values;
}

using Bits = std::vector<uint8_t>;

// The forward's output; its keep bits go to *bits when given.
std::vector<float> forward(float rate, const RandomKey& key, int first_sample, int n, int per_sample,
                           const std::vector<float>& x, Bits* bits = nullptr) {
  std::vector<float> y(x.size());
  Bits own(size_t(dropout_keep_bytes(n, per_sample)), 0xA5);  // not 0: every byte must be written
  cpu::dropout_forward(rate, key, first_sample, n, per_sample, 1, x.data(), y.data(), own.data());
  if (bits) *bits = std::move(own);
  return y;
}

// Backward from keep bits; key and first_sample are ones the forward did not use, because the
// CPU backward must read the bits, not recompute the mask.
std::vector<float> backward(float rate, int n, int per_sample, const Bits& bits, const std::vector<float>& dy) {
  std::vector<float> dx(dy.size());
  cpu::dropout_backward(rate, RandomKey{1, 2, 3}, 99, n, per_sample, 1, bits.data(), dy.data(), dx.data());
  return dx;
}

const RandomKey kLayer0{31337, 5, kStreamDropout + 0};

TEST(Dropout, KeepsFractionOneMinusRateScaled) {
  const float rate = 0.25f;
  const int n = 1000, per_sample = 1000;
  const std::vector<float> ones(size_t(n) * per_sample, 1.0f);
  const auto y = forward(rate, kLayer0, 0, n, per_sample, ones);
  int64_t kept = 0;
  for (float value : y) {
    if (value != 0.0f) {
      ++kept;
      ASSERT_NEAR(value, 1.0 / (1.0 - rate), 1e-6);
    }
  }
  const double total = double(y.size());
  const double sigma = std::sqrt(rate * (1.0 - rate) / total);
  EXPECT_NEAR(kept / total, 1.0 - rate, 5 * sigma);
}

TEST(Dropout, PreservesMean) {
  for (float rate : {0.1f, 0.5f}) {
    const int n = 64, per_sample = 12544;  // a 64-image batch of 64 x 14 x 14 activations
    const auto x = make_values(size_t(n) * per_sample, 0.5f, 1.5f, 9);
    const auto y = forward(rate, kLayer0, 640, n, per_sample, x);
    double sum_x = 0, sum_y = 0, sum_y_sq = 0;
    for (size_t k = 0; k < x.size(); ++k) {
      sum_x += x[k];
      sum_y += y[k];
      sum_y_sq += double(y[k]) * y[k];
    }
    const double count = double(x.size());
    const double sigma = std::sqrt((sum_y_sq / count - (sum_y / count) * (sum_y / count)) / count);
    EXPECT_NEAR(sum_y / count, sum_x / count, 5 * sigma) << "rate " << rate;
  }
}

TEST(Dropout, BackwardAppliesTheForwardMask) {
  const float rate = 0.4f;
  const int n = 7, per_sample = 301, first = 1234;
  const auto x = make_values(size_t(n) * per_sample, 0.25f, 2.0f, 3);
  Bits bits;
  const auto y = forward(rate, kLayer0, first, n, per_sample, x, &bits);
  const auto dx = backward(rate, n, per_sample, bits, std::vector<float>(x.size(), 1.0f));
  int dropped = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    ASSERT_EQ(dx[k] != 0.0f, y[k] != 0.0f) << "element " << k;
    if (dx[k] != 0.0f) {
      ASSERT_NEAR(dx[k], 1.0 / (1.0 - rate), 1e-6);
      ASSERT_NEAR(y[k], x[k] / (1.0 - rate), 1e-6 * x[k]);
    } else {
      ++dropped;
    }
  }
  EXPECT_GT(dropped, 0);
}

TEST(Dropout, MaskIndependentOfBatchSplit) {
  const float rate = 0.3f;
  const int n = 10, per_sample = 45, first = 100;
  const auto x = make_values(size_t(n) * per_sample, 0.5f, 1.5f, 5);
  Bits whole_bits, split_bits, rest_bits;
  const auto whole = forward(rate, kLayer0, first, n, per_sample, x, &whole_bits);
  // Samples 100..102 and 103..109 as two batches: the same values, and the same bits (a row of
  // whole bytes per sample).
  const std::vector<float> head(x.begin(), x.begin() + 3 * per_sample), tail(x.begin() + 3 * per_sample, x.end());
  auto split = forward(rate, kLayer0, first, 3, per_sample, head, &split_bits);
  const auto rest = forward(rate, kLayer0, first + 3, n - 3, per_sample, tail, &rest_bits);
  split.insert(split.end(), rest.begin(), rest.end());
  split_bits.insert(split_bits.end(), rest_bits.begin(), rest_bits.end());
  EXPECT_EQ(whole, split);
  EXPECT_EQ(whole_bits, split_bits);
  // In place gives the same as out of place.
  auto in_place = x;
  Bits bits(whole_bits.size());
  cpu::dropout_forward(rate, kLayer0, first, n, per_sample, 1, in_place.data(), in_place.data(), bits.data());
  EXPECT_EQ(whole, in_place);
  EXPECT_EQ(whole_bits, bits);
}

TEST(Dropout, LayersAndEpochsGetDifferentMasks) {
  const float rate = 0.5f;
  const int n = 20, per_sample = 500;
  const std::vector<float> ones(size_t(n) * per_sample, 1.0f);
  const auto mask0 = forward(rate, kLayer0, 0, n, per_sample, ones);
  const auto disagreement = [&](const RandomKey& key) {
    const auto other = forward(rate, key, 0, n, per_sample, ones);
    int64_t differ = 0;
    for (size_t k = 0; k < other.size(); ++k) differ += (other[k] != 0.0f) != (mask0[k] != 0.0f);
    return double(differ) / double(other.size());
  };
  // Independent masks disagree on a fraction 2 p (1 - p) = 0.5 of the elements.
  EXPECT_NEAR(disagreement(RandomKey{kLayer0.seed, kLayer0.epoch, kStreamDropout + 1}), 0.5, 0.02);
  EXPECT_NEAR(disagreement(RandomKey{kLayer0.seed, kLayer0.epoch + 1, kLayer0.stream}), 0.5, 0.02);
  EXPECT_EQ(disagreement(kLayer0), 0.0);
}

TEST(Dropout, RateZeroCopies) {
  const auto x = make_values(3 * 37, -1.0f, 1.0f, 8);
  EXPECT_EQ(forward(0.0f, kLayer0, 0, 3, 37, x), x);
  std::vector<float> dx(x.size());
  cpu::dropout_backward(0.0f, kLayer0, 0, 3, 37, 1, nullptr, x.data(), dx.data());  // rate 0 reads no bits
  EXPECT_EQ(dx, x);
}

// 845 values per sample: not a multiple of 4 (a partial Philox group) nor of 8 (padded bits);
// 2,055: past the kernel's 1,024-value chunks too.
TEST(Dropout, OddSizesMatchReferenceLoop) {
  const float rate = 0.35f;
  const RandomKey key{0xfeedfacecafebeefull, 9, kStreamDropout + 2};
  for (const int per_sample : {13 * 13 * 5, 2 * 1024 + 7}) {
    const int n = 3, first = 17;
    const auto x = make_values(size_t(n) * per_sample, -2.0f, 2.0f, 21);
    Bits bits;
    const auto y = forward(rate, key, first, n, per_sample, x, &bits);
    const auto dx = backward(rate, n, per_sample, bits, x);
    const int row = int(dropout_keep_row_bytes(per_sample));
    ASSERT_EQ(row, (per_sample + 7) / 8);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < per_sample; ++j) {
        const uint32_t word = random_words(key, uint32_t(first + i), uint32_t(j / 4)).v[j % 4];
        const bool keep = double(word >> 8) / 16777216.0 >= double(rate);
        const size_t k = size_t(i) * per_sample + j;
        const double expected = keep ? double(x[k]) / (1.0 - double(rate)) : 0.0;
        ASSERT_NEAR(y[k], expected, 1e-6 * std::abs(expected)) << per_sample << ": sample " << i << " element " << j;
        ASSERT_NEAR(dx[k], expected, 1e-6 * std::abs(expected)) << per_sample << ": sample " << i << " element " << j;
        ASSERT_EQ((bits[size_t(i * row + j / 8)] >> (j % 8) & 1) != 0, keep)
            << per_sample << ": sample " << i << " element " << j;
      }
      EXPECT_EQ(bits[size_t(i * row + row - 1)] >> (per_sample % 8), 0) << per_sample << ": padding of sample " << i;
    }
  }
}

}  // namespace
}  // namespace hdr

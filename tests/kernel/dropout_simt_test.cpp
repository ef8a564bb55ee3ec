// The dropout kernel (kernels/dropout.cuh) through the CUDA emulation, at several block sizes on
// sample sizes that are not multiples of 4 (a partial last Philox group) nor of the block, and
// on multiples of 4 (the float4 path): the mask is integer logic, so the kernel must equal the
// CPU twin and a plain per-element loop bit for bit, forward and backward, in place or not.
#include "kernels/simt_host.h"
// simt_host.h first: it enables the __global__ kernels of the .cuh.
#include "kernels/dropout.cuh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/verify/compare.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

// Reproducible values in [-1, 1) that are never zero (an LCG, unrelated to Philox).
std::vector<float> make_values(size_t count, uint32_t seed) {
  std::vector<float> values(count);
  for (auto& value : values) {
    seed = seed * 1664525u + 1013904223u;
    value = (float(seed >> 8) + 0.5f) / 8388608.0f - 1.0f;
  }
  return values;
}

// Element j of sample s: word j % 4 of the Philox call (s, j / 4), kept when uniform >= rate.
std::vector<float> reference_dropout(float rate, const RandomKey& key, int first_sample, int n, int per_sample,
                                     const std::vector<float>& in) {
  std::vector<float> out(in.size());
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < per_sample; ++j) {
      const size_t k = size_t(i) * per_sample + size_t(j);
      const uint32_t word = random_words(key, uint32_t(first_sample + i), uint32_t(j / 4)).v[j % 4];
      out[k] = rate <= 0.0f ? in[k] : uniform01(word) >= rate ? in[k] * (1.0f / (1.0f - rate)) : 0.0f;
    }
  }
  return out;
}

// As the CUDA launcher runs it: the float4 path where dropout_vectorisable says so.
std::vector<float> run_kernel(float rate, const RandomKey& key, int first_sample, int n, int per_sample,
                              const std::vector<float>& in, int block) {
  std::vector<float> out(in.size(), -7.0f);
  simt::launch(dropout_grid(n, per_sample, block), dim3(unsigned(block)), dropout_masked_scale_kernel, rate, key,
               first_sample, n, per_sample, dropout_vectorisable(per_sample, in.data(), out.data()), in.data(),
               out.data());
  return out;
}

const RandomKey kLayer2{31337, 5, kStreamDropout + 2};
constexpr int kFirstSample = 11;
constexpr int kBatch = 3;

TEST(DropoutSimt, ForwardMatchesCpuTwinAndPlainLoopBitForBit) {
  for (int per_sample : {845, 1, 2, 3, 7, 4, 844}) {
    const auto x = make_values(size_t(kBatch) * per_sample, 5);
    for (float rate : {0.3f, 0.5f}) {
      std::vector<float> want_cpu(x.size());
      std::vector<uint8_t> bits(size_t(dropout_keep_bytes(kBatch, per_sample)));
      cpu::dropout_forward(rate, kLayer2, kFirstSample, kBatch, per_sample, 1, x.data(), want_cpu.data(), bits.data());
      const auto want_plain = reference_dropout(rate, kLayer2, kFirstSample, kBatch, per_sample, x);
      for (int block : {32, 50, 96, 256}) {
        const auto got = run_kernel(rate, kLayer2, kFirstSample, kBatch, per_sample, x, block);
        EXPECT_TRUE(compare(got, want_cpu, Tolerance{0, 0}).ok())
            << "per_sample " << per_sample << " rate " << rate << " block " << block;
        EXPECT_TRUE(compare(got, want_plain, Tolerance{0, 0}).ok())
            << "per_sample " << per_sample << " rate " << rate << " block " << block;
      }
    }
  }
}

// The same samples through the float4 path and the scalar one (pointers one float off 16-byte
// alignment), against the CPU twin.
TEST(DropoutSimt, Float4PathAndScalarPathAgree) {
  const int per_sample = 844;
  const auto x = make_values(size_t(kBatch) * per_sample + 1, 6);
  std::vector<float> want(x.size() - 1);
  std::vector<uint8_t> bits(size_t(dropout_keep_bytes(kBatch, per_sample)));
  cpu::dropout_forward(0.3f, kLayer2, kFirstSample, kBatch, per_sample, 1, x.data(), want.data(), bits.data());
  std::vector<float> aligned(want.size()), shifted(want.size() + 1);
  std::vector<float> x_aligned(x.begin(), x.end() - 1);
  ASSERT_TRUE(dropout_vectorisable(per_sample, x_aligned.data(), aligned.data()));
  std::vector<float> shifted_in(x.size());
  std::copy(x.begin(), x.end() - 1, shifted_in.begin() + 1);
  ASSERT_FALSE(dropout_vectorisable(per_sample, shifted_in.data() + 1, shifted.data() + 1));
  for (bool vector : {true, false}) {
    const float* in = vector ? x_aligned.data() : shifted_in.data() + 1;
    float* out = vector ? aligned.data() : shifted.data() + 1;
    simt::launch(dropout_grid(kBatch, per_sample, 64), dim3(64), dropout_masked_scale_kernel, 0.3f, kLayer2,
                 kFirstSample, kBatch, per_sample, vector, in, out);
    EXPECT_TRUE(compare(std::vector<float>(out, out + want.size()), want, Tolerance{0, 0}).ok()) << vector;
  }
}

// The GPU recomputes the mask in backward; the CPU applies the bits its forward recorded.
TEST(DropoutSimt, BackwardRecomputesTheMaskTheCpuRecorded) {
  const int per_sample = 845;
  const float rate = 0.4f;
  const auto x = make_values(size_t(kBatch) * per_sample, 8);
  const auto dy = make_values(x.size(), 9);
  const auto y = run_kernel(rate, kLayer2, kFirstSample, kBatch, per_sample, x, 96);
  std::vector<float> y_cpu(x.size()), want_cpu(dy.size());
  std::vector<uint8_t> bits(size_t(dropout_keep_bytes(kBatch, per_sample)));
  cpu::dropout_forward(rate, kLayer2, kFirstSample, kBatch, per_sample, 1, x.data(), y_cpu.data(), bits.data());
  cpu::dropout_backward(rate, kLayer2, kFirstSample, kBatch, per_sample, 1, bits.data(), dy.data(), want_cpu.data());
  for (int block : {32, 256}) {
    const auto dx = run_kernel(rate, kLayer2, kFirstSample, kBatch, per_sample, dy, block);
    EXPECT_TRUE(compare(dx, want_cpu, Tolerance{0, 0}).ok()) << "block " << block;
    for (size_t k = 0; k < dx.size(); ++k) ASSERT_EQ(dx[k] == 0.0f, y[k] == 0.0f) << k;  // inputs are never 0
  }
}

TEST(DropoutSimt, InPlaceAndEdgeRates) {
  const int per_sample = 13;
  const auto x = make_values(size_t(kBatch) * per_sample, 3);
  for (float rate : {0.0f, 0.25f, 1.0f}) {
    std::vector<float> want(x.size());
    std::vector<uint8_t> bits(size_t(dropout_keep_bytes(kBatch, per_sample)));
    cpu::dropout_forward(rate, kLayer2, kFirstSample, kBatch, per_sample, 1, x.data(), want.data(), bits.data());
    std::vector<float> in_place = x;
    simt::launch(dropout_grid(kBatch, per_sample, 64), dim3(64), dropout_masked_scale_kernel, rate, kLayer2,
                 kFirstSample, kBatch, per_sample, false, in_place.data(), in_place.data());
    EXPECT_TRUE(compare(in_place, want, Tolerance{0, 0}).ok()) << "rate " << rate;
  }
  EXPECT_TRUE(compare(run_kernel(0.0f, kLayer2, 0, kBatch, per_sample, x, 32), x, Tolerance{0, 0}).ok());
  for (float value : run_kernel(1.0f, kLayer2, 0, kBatch, per_sample, x, 32)) EXPECT_EQ(value, 0.0f);
}

}  // namespace
}  // namespace hdr

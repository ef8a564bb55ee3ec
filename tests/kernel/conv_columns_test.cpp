// The operands of the weight gradient as one GEMM (kernels/cpu/conv_columns.h), for plain NCHW
// (block 1) and both block widths, on a padded, strided geometry: each column entry against the
// input value its window puts there, the gradient rows and their sums against dy read through the
// NCHW index, and the tap-major result against oihw. The product itself is checked against a
// double-precision convolution in tests/unit/onednn_ops_test.cpp.
#include "kernels/cpu/conv_columns.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/blocked.h"
#include "tests/kernel/test_values.h"

namespace hdr {
namespace {

using Floats = std::vector<float>;

Floats pattern(size_t count, uint32_t seed) { return test::make_values(count, 0.1f, 3.0f, seed, true); }

// plain (n x c x spatial) in blocks of `block` channels; block 1 leaves it as it is.
Floats stored(int block, int n, int c, int64_t spatial, const Floats& plain) {
  if (block == 1) return plain;
  Floats out(plain.size());
  cpu::blocked::with_block(
      block, [&](auto b) { cpu::blocked::Reorder<b>::from_nchw(n, c, spatial, plain.data(), out.data()); });
  return out;
}

// 7x6 input, 3x3 taps, padding 1, stride 2: 4x3 outputs, windows crossing every edge.
ConvGeometry padded_strided() {
  ConvGeometry g;
  g.n = 3;
  g.c = 16;
  g.h = 7;
  g.w = 6;
  g.k = 32;
  g.kh = g.kw = 3;
  g.pad_h = g.pad_w = 1;
  g.stride = 2;
  return g;
}

class ConvColumns : public ::testing::TestWithParam<int> {};

TEST_P(ConvColumns, EachEntryIsTheInputUnderItsWindow) {
  const int block = GetParam();
  const ConvGeometry g = padded_strided();
  const int oh = g.out_h(), ow = g.out_w();
  const Floats x = pattern(size_t(g.n) * g.c * g.h * g.w, 1);
  Floats columns(size_t(cpu::conv_column_count(g)), -7.0f);
  ASSERT_EQ(columns.size(), size_t(g.n) * oh * ow * g.kh * g.kw * g.c);
  cpu::conv_columns(g, block, stored(block, g.n, g.c, int64_t(g.h) * g.w, x).data(), columns.data());
  int bad = 0, padding = 0;
  size_t at = 0;
  for (int n = 0; n < g.n; ++n)
    for (int r = 0; r < oh; ++r)
      for (int q = 0; q < ow; ++q)
        for (int i = 0; i < g.kh; ++i)
          for (int j = 0; j < g.kw; ++j)
            for (int c = 0; c < g.c; ++c, ++at) {
              const int y = r * g.stride - g.pad_h + i, xc = q * g.stride - g.pad_w + j;
              const bool inside = y >= 0 && y < g.h && xc >= 0 && xc < g.w;
              padding += !inside;
              const float want = inside ? x[((size_t(n) * g.c + c) * g.h + y) * g.w + xc] : 0.0f;
              if (columns[at] != want && ++bad <= 5)
                ADD_FAILURE() << "n" << n << " out (" << r << "," << q << ") tap (" << i << "," << j << ") c" << c
                              << ": " << columns[at] << ", want " << want;
            }
  EXPECT_EQ(bad, 0);
  EXPECT_GT(padding, 0);  // the geometry reaches the padding
}

TEST_P(ConvColumns, GradientRowsAreDyByChannelWithTheirSums) {
  const int block = GetParam();
  const ConvGeometry g = padded_strided();
  const int64_t positions = int64_t(g.out_h()) * g.out_w(), length = g.n * positions;
  const Floats dy = pattern(size_t(g.n * g.k * positions), 2);
  Floats rows(size_t(g.k * length), -7.0f), dbias(size_t(g.k), -7.0f);
  cpu::conv_gradient_rows(g, block, stored(block, g.n, g.k, positions, dy).data(), rows.data(), dbias.data());
  for (int k = 0; k < g.k; ++k) {
    double sum = 0;
    for (int n = 0; n < g.n; ++n)
      for (int64_t p = 0; p < positions; ++p) {
        const float want = dy[size_t((n * g.k + k) * positions + p)];
        sum += want;
        ASSERT_EQ(rows[size_t(k * length + n * positions + p)], want) << "k" << k << " n" << n << " p" << p;
      }
    EXPECT_NEAR(dbias[size_t(k)], sum, 1e-4 * length) << "k" << k;
  }
  Floats again(rows.size());
  cpu::conv_gradient_rows(g, block, stored(block, g.n, g.k, positions, dy).data(), again.data(), nullptr);
  EXPECT_EQ(again, rows);  // no bias asked: the rows alone
}

std::string layout_name(const ::testing::TestParamInfo<int>& block) {
  return block.param == 1 ? "nchw" : "nChw" + std::to_string(block.param) + "c";
}
INSTANTIATE_TEST_SUITE_P(Blocks, ConvColumns, ::testing::Values(1, 8, 16), layout_name);

TEST(ConvColumnsWeights, TapMajorBecomesOihw) {
  const ConvGeometry g = padded_strided();
  const int taps = g.kh * g.kw;
  const Floats tap_major = pattern(size_t(g.k * taps * g.c), 3);
  Floats dw(tap_major.size(), -7.0f);
  cpu::conv_weights_from_taps(g, tap_major.data(), dw.data());
  for (int k = 0; k < g.k; ++k)
    for (int c = 0; c < g.c; ++c)
      for (int t = 0; t < taps; ++t)
        ASSERT_EQ(dw[size_t((k * g.c + c) * taps + t)], tap_major[size_t((k * taps + t) * g.c + c)])
            << "k" << k << " c" << c << " tap " << t;
}

TEST(ConvColumnsWeights, ChannelsOutsideWholeBlocksAreRefused) {
  ConvGeometry g = padded_strided();
  g.c = 12;  // not whole blocks of 8
  Floats x(size_t(g.n * g.c * g.h * g.w)), columns(size_t(cpu::conv_column_count(g)));
  EXPECT_THROW(cpu::conv_columns(g, 8, x.data(), columns.data()), std::invalid_argument);
  EXPECT_THROW(cpu::conv_columns(g, 3, x.data(), columns.data()), std::invalid_argument);  // no kernel for 3
}

}  // namespace
}  // namespace hdr

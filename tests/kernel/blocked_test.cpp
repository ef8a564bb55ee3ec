// The blocked kernels, for both block widths, against their NCHW twins: same inputs
// (converted), same results (converted back), on odd spatial sizes and every activation order.
// The layout itself is checked against its index formula, and the two widths against each other.
#include "kernels/cpu/blocked.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/verify/compare.h"
#include "kernels/dropout.cuh"
#include "kernels/ops.h"

namespace hdr {
namespace {

using Floats = std::vector<float>;

Floats pattern(size_t count, float offset) {
  Floats v(count);
  for (size_t i = 0; i < count; ++i) v[i] = std::sin(0.731f * float(i) + offset) * 2.0f + 0.3f;
  return v;
}

template <int kBlock>
Floats blocked(int n, int c, int64_t spatial, const Floats& plain) {
  Floats out(plain.size());
  cpu::blocked::Reorder<kBlock>::from_nchw(n, c, spatial, plain.data(), out.data());
  return out;
}

template <int kBlock>
Floats plain(int n, int c, int64_t spatial, const Floats& blocked_values) {
  Floats out(blocked_values.size());
  cpu::blocked::Reorder<kBlock>::to_nchw(n, c, spatial, blocked_values.data(), out.data());
  return out;
}

void expect_close(const Floats& got, const Floats& want, const char* what, Tolerance tol = {1e-5, 1e-5}) {
  const Comparison c = compare(got, want, tol);
  EXPECT_TRUE(c.ok()) << what << ": " << c.summary();
}

// Every test runs for both block widths: B = TypeParam::value.
template <class Width>
class Blocked : public ::testing::Test {};
using Widths = ::testing::Types<std::integral_constant<int, 8>, std::integral_constant<int, 16>>;
struct WidthName {
  template <class Width>
  static std::string GetName(int) {
    return "nChw" + std::to_string(Width::value) + "c";
  }
};
TYPED_TEST_SUITE(Blocked, Widths, WidthName);

TYPED_TEST(Blocked, LayoutFollowsItsIndexFormula) {
  constexpr int B = TypeParam::value;
  const int n = 2, c = 3 * B;  // an odd number of blocks
  const int64_t spatial = 13;
  const Floats x = pattern(size_t(n * c * spatial), 0.0f);
  const Floats b = blocked<B>(n, c, spatial, x);
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch)
      for (int64_t s = 0; s < spatial; ++s)
        ASSERT_EQ(b[size_t(((i * (c / B) + ch / B) * spatial + s) * B + ch % B)],
                  x[size_t((i * c + ch) * spatial + s)]);
  EXPECT_EQ(plain<B>(n, c, spatial, b), x);
}

TEST(BlockedLayout, WholeBlocksOfChannelsOnMapsOnly) {
  EXPECT_TRUE(cpu::blocked::is_blocked(8, 24, 169));
  EXPECT_FALSE(cpu::blocked::is_blocked(16, 24, 169));
  EXPECT_TRUE(cpu::blocked::is_blocked(16, 32, 4));
  EXPECT_FALSE(cpu::blocked::is_blocked(8, 32, 1));  // dense rows stay plain
  EXPECT_THROW(cpu::blocked::with_block(4, [](auto) { return 0; }), std::invalid_argument);
}

TYPED_TEST(Blocked, BatchNormMatchesTheNchwTwinInEveryOrder) {
  constexpr int B = TypeParam::value;
  using BatchNorm = cpu::blocked::BatchNorm<B>;
  for (BnActivation act : {BnActivation::kNone, BnActivation::kReluAfter, BnActivation::kReluBefore}) {
    BatchNormGeometry g;
    g.n = 3;
    g.c = 32;
    g.spatial = 169;
    g.activation = act;
    const size_t count = size_t(g.n) * g.c * g.spatial;
    const Floats x = pattern(count, 0.1f), dy = pattern(count, 2.0f);
    const Floats gamma = pattern(size_t(g.c), 3.0f), beta = pattern(size_t(g.c), 4.0f);
    Floats rm_a(size_t(g.c), 0.1f), rv_a(size_t(g.c), 0.9f), rm_b = rm_a, rv_b = rv_a;
    Floats mean_a(size_t(g.c)), inv_a(size_t(g.c)), mean_b(size_t(g.c)), inv_b(size_t(g.c));
    Floats y_a(count), y_b(count);
    cpu::bn_relu_forward_train(g, x.data(), gamma.data(), beta.data(), rm_a.data(), rv_a.data(), mean_a.data(),
                               inv_a.data(), y_a.data());
    const Floats xb = blocked<B>(g.n, g.c, g.spatial, x);
    BatchNorm::forward_train(g, xb.data(), gamma.data(), beta.data(), rm_b.data(), rv_b.data(), mean_b.data(),
                             inv_b.data(), y_b.data());
    expect_close(plain<B>(g.n, g.c, g.spatial, y_b), y_a, "forward y");
    expect_close(mean_b, mean_a, "saved mean");
    expect_close(inv_b, inv_a, "saved 1/std");
    expect_close(rm_b, rm_a, "running mean");
    expect_close(rv_b, rv_a, "running variance");

    Floats dx_a(count), dx_b(count), dg_a(size_t(g.c)), db_a(size_t(g.c)), dg_b(size_t(g.c)), db_b(size_t(g.c));
    cpu::bn_relu_backward(g, x.data(), dy.data(), gamma.data(), beta.data(), mean_a.data(), inv_a.data(), dx_a.data(),
                          dg_a.data(), db_a.data());
    const Floats dyb = blocked<B>(g.n, g.c, g.spatial, dy);
    BatchNorm::backward(g, xb.data(), dyb.data(), gamma.data(), beta.data(), mean_b.data(), inv_b.data(), dx_b.data(),
                        dg_b.data(), db_b.data());
    expect_close(plain<B>(g.n, g.c, g.spatial, dx_b), dx_a, "dx", {1e-4, 1e-4});
    expect_close(dg_b, dg_a, "dgamma", {1e-4, 1e-4});
    expect_close(db_b, db_a, "dbeta", {1e-4, 1e-4});

    cpu::bn_relu_forward_infer(g, x.data(), gamma.data(), beta.data(), rm_a.data(), rv_a.data(), y_a.data());
    BatchNorm::forward_infer(g, xb.data(), gamma.data(), beta.data(), rm_a.data(), rv_a.data(), y_b.data());
    expect_close(plain<B>(g.n, g.c, g.spatial, y_b), y_a, "inference y");
  }
}

// Synchronised batch norm's dx adjustment: the channel of every blocked value found as the plain
// twin finds it.
TYPED_TEST(Blocked, InputGradAdjustmentMatchesTheNchwTwin) {
  constexpr int B = TypeParam::value;
  using BatchNorm = cpu::blocked::BatchNorm<B>;
  for (BnActivation act : {BnActivation::kNone, BnActivation::kReluAfter, BnActivation::kReluBefore}) {
    BatchNormGeometry g;
    g.n = 2;
    g.c = 32;
    g.spatial = 25;
    g.activation = act;
    const size_t count = size_t(g.n) * g.c * g.spatial;
    const Floats x = pattern(count, -0.5f), mean = pattern(size_t(g.c), 0.2f), a = pattern(size_t(g.c), 1.0f),
                 b = pattern(size_t(g.c), -2.0f);
    Floats dx_a = pattern(count, 3.0f);
    Floats dx_b = blocked<B>(g.n, g.c, g.spatial, dx_a);
    cpu::bn_input_grad_adjust(g, x.data(), mean.data(), a.data(), b.data(), dx_a.data());
    const Floats xb = blocked<B>(g.n, g.c, g.spatial, x);
    BatchNorm::input_grad_adjust(g, xb.data(), mean.data(), a.data(), b.data(), dx_b.data());
    EXPECT_EQ(plain<B>(g.n, g.c, g.spatial, dx_b), dx_a) << "activation " << int(act);
  }
}

TYPED_TEST(Blocked, MaxPoolMatchesTheNchwTwin) {
  constexpr int B = TypeParam::value;
  using MaxPool = cpu::blocked::MaxPool<B>;
  for (const PoolGeometry g : {PoolGeometry{3, 32, 13, 13, 2, 2}, PoolGeometry{2, 16, 7, 9, 3, 2}}) {
    const int64_t in_plane = int64_t(g.h) * g.w, out_plane = int64_t(g.out_h()) * g.out_w();
    const size_t in_count = size_t(g.n * g.c * in_plane), out_count = size_t(g.n * g.c * out_plane);
    const Floats x = pattern(in_count, 0.5f), dy = pattern(out_count, 1.5f);
    Floats y_a(out_count), y_b(out_count), dx_a(in_count), dx_b(in_count);
    std::vector<int32_t> arg_a(out_count), arg_b(out_count);
    cpu::maxpool_forward(g, x.data(), y_a.data(), arg_a.data());
    cpu::maxpool_backward(g, dy.data(), arg_a.data(), dx_a.data());
    const Floats xb = blocked<B>(g.n, g.c, in_plane, x), dyb = blocked<B>(g.n, g.c, out_plane, dy);
    MaxPool::forward(g, xb.data(), y_b.data(), arg_b.data());
    MaxPool::backward(g, dyb.data(), arg_b.data(), dx_b.data());
    EXPECT_EQ(plain<B>(g.n, g.c, out_plane, y_b), y_a) << "size " << g.size;
    // The same index within the plane in both layouts: argmax moved like any value (bits kept).
    Floats arg_bits(out_count), arg_plain(out_count);
    std::memcpy(arg_bits.data(), arg_b.data(), out_count * sizeof(float));
    arg_plain = plain<B>(g.n, g.c, out_plane, arg_bits);
    std::vector<int32_t> arg_b_plain(out_count);
    std::memcpy(arg_b_plain.data(), arg_plain.data(), out_count * sizeof(float));
    EXPECT_EQ(arg_b_plain, arg_a) << "size " << g.size;
    expect_close(plain<B>(g.n, g.c, in_plane, dx_b), dx_a, "dx");  // overlapping windows add in another order
    Floats y_alone(out_count, -1.0f);                              // without argmax (inference): the same y
    MaxPool::forward(g, xb.data(), y_alone.data(), nullptr);
    EXPECT_EQ(y_alone, y_b) << "size " << g.size;
  }
}

// The fused batch norm + pooling against its two parts, in every activation order, on an odd
// map (13x13: the last row and column belong to no window, yet their dx is not zero).
TYPED_TEST(Blocked, BatchNormMaxPoolEqualsItsParts) {
  constexpr int B = TypeParam::value;
  using BatchNorm = cpu::blocked::BatchNorm<B>;
  using MaxPool = cpu::blocked::MaxPool<B>;
  for (BnActivation act : {BnActivation::kNone, BnActivation::kReluAfter, BnActivation::kReluBefore}) {
    BatchNormGeometry g;
    g.n = 3;
    g.c = 32;
    g.spatial = 13 * 13;
    g.activation = act;
    const PoolGeometry p{g.n, g.c, 13, 13, 2, 2};
    const int64_t out_plane = int64_t(p.out_h()) * p.out_w();
    const size_t count = size_t(g.n) * g.c * g.spatial, out_count = size_t(g.n * g.c * out_plane);
    const Floats x = blocked<B>(g.n, g.c, g.spatial, pattern(count, 0.2f));
    const Floats dy = blocked<B>(g.n, g.c, out_plane, pattern(out_count, 1.1f));
    const Floats gamma = pattern(size_t(g.c), 3.0f), beta = pattern(size_t(g.c), 4.0f);
    Floats rm_a(size_t(g.c), 0.1f), rv_a(size_t(g.c), 0.9f), rm_b = rm_a, rv_b = rv_a;
    Floats mean_a(size_t(g.c)), inv_a(size_t(g.c)), mean_b(size_t(g.c)), inv_b(size_t(g.c));
    Floats bn(count), y_a(out_count), y_b(out_count);
    std::vector<int32_t> arg_a(out_count), arg_b(out_count);
    BatchNorm::forward_train(g, x.data(), gamma.data(), beta.data(), rm_a.data(), rv_a.data(), mean_a.data(),
                             inv_a.data(), bn.data());
    MaxPool::forward(p, bn.data(), y_a.data(), arg_a.data());
    BatchNorm::maxpool_forward_train(g, p, x.data(), gamma.data(), beta.data(), rm_b.data(), rv_b.data(), mean_b.data(),
                                     inv_b.data(), y_b.data(), arg_b.data());
    EXPECT_EQ(y_b, y_a);
    EXPECT_EQ(arg_b, arg_a);
    EXPECT_EQ(rv_b, rv_a);

    Floats dbn(count), dx_a(count), dx_b(count), dg_a(size_t(g.c)), db_a(size_t(g.c)), dg_b(size_t(g.c)),
        db_b(size_t(g.c));
    MaxPool::backward(p, dy.data(), arg_a.data(), dbn.data());
    BatchNorm::backward(g, x.data(), dbn.data(), gamma.data(), beta.data(), mean_a.data(), inv_a.data(), dx_a.data(),
                        dg_a.data(), db_a.data());
    BatchNorm::maxpool_backward(g, p, x.data(), dy.data(), arg_b.data(), gamma.data(), beta.data(), mean_b.data(),
                                inv_b.data(), dx_b.data(), dg_b.data(), db_b.data());
    // The fused pass sums window by window instead of position by position: float rounding only.
    expect_close(dx_b, dx_a, "fused dx", {1e-5, 1e-4});
    expect_close(dg_b, dg_a, "fused dgamma", {1e-5, 1e-4});
    expect_close(db_b, db_a, "fused dbeta", {1e-5, 1e-4});

    // With x at each argmax recorded by the forward, backward reads the record: the same bits.
    Floats x_max(out_count, -1.0f), dx_c(count), dg_c(size_t(g.c)), db_c(size_t(g.c));
    BatchNorm::maxpool_forward_train(g, p, x.data(), gamma.data(), beta.data(), rm_b.data(), rv_b.data(), mean_b.data(),
                                     inv_b.data(), y_b.data(), arg_b.data(), x_max.data());
    for (size_t o = 0; o < out_count; ++o) {  // the record is x where argmax points
      const size_t block_base = o / size_t(out_plane * B) * size_t(g.spatial * B);
      ASSERT_EQ(x_max[o], x[block_base + size_t(arg_b[o]) * B + o % B]) << o;
    }
    BatchNorm::maxpool_backward(g, p, x.data(), dy.data(), arg_b.data(), gamma.data(), beta.data(), mean_b.data(),
                                inv_b.data(), dx_c.data(), dg_c.data(), db_c.data(), x_max.data());
    EXPECT_EQ(dx_c, dx_b);
    EXPECT_EQ(dg_c, dg_b);
    EXPECT_EQ(db_c, db_b);

    BatchNorm::forward_infer(g, x.data(), gamma.data(), beta.data(), rm_a.data(), rv_a.data(), bn.data());
    MaxPool::forward(p, bn.data(), y_a.data(), arg_a.data());
    BatchNorm::maxpool_forward_infer(g, p, x.data(), gamma.data(), beta.data(), rm_a.data(), rv_a.data(), y_b.data(),
                                     arg_b.data());
    EXPECT_EQ(y_b, y_a);
    EXPECT_EQ(arg_b, arg_a);
    Floats y_alone(out_count, -1.0f);  // without argmax, as at inference: the same y
    BatchNorm::maxpool_forward_infer(g, p, x.data(), gamma.data(), beta.data(), rm_a.data(), rv_a.data(),
                                     y_alone.data(), nullptr);
    EXPECT_EQ(y_alone, y_a);
  }
}

TYPED_TEST(Blocked, DropoutMaskIsTheNchwMask) {
  constexpr int B = TypeParam::value;
  using Dropout = cpu::blocked::Dropout<B>;
  const int n = 3, c = 32;
  const int64_t spatial = 169;  // not a multiple of 4: Philox groups straddle channels
  const size_t count = size_t(n) * c * spatial;
  const Floats x = pattern(count, 0.7f);
  const RandomKey key{123, 4, kStreamDropout + 2};
  Floats y_a(count), y_b(count), dx_a(count), dx_b(count);
  std::vector<uint8_t> bits_a(size_t(dropout_keep_bytes(n, c * spatial))), bits_b(bits_a.size());
  cpu::dropout_forward(0.4f, key, 10, n, c, spatial, x.data(), y_a.data(), bits_a.data());
  cpu::dropout_backward(0.4f, key, 10, n, c, spatial, bits_a.data(), x.data(), dx_a.data());
  const Floats xb = blocked<B>(n, c, spatial, x);
  Dropout::forward(0.4f, key, 10, n, c, spatial, xb.data(), y_b.data(), bits_b.data());
  // The blocked forward's bits are in its memory order: backward on the blocked tensor.
  cpu::dropout_backward(0.4f, key, 10, n, c, spatial, bits_b.data(), xb.data(), dx_b.data());
  EXPECT_EQ(plain<B>(n, c, spatial, y_b), y_a);
  EXPECT_EQ(plain<B>(n, c, spatial, dx_b), dx_a);
  for (size_t m = 0; m < count; ++m)  // bit m of the blocked record: blocked value m kept
    ASSERT_EQ((bits_b[m / 8] >> (m % 8) & 1) != 0, y_b[m] != 0.0f) << m;
}

// The one-channel convolution (blocked.h): weight gradient in the 8-wide layout, forward in both.
// A first layer's geometry: one input channel, 32 filters, stride 1.
ConvGeometry one_channel_geometry(int n, int h, int w, int kh, int kw, int pad) {
  ConvGeometry g;
  g.n = n;
  g.c = 1;
  g.h = h;
  g.w = w;
  g.k = 32;
  g.kh = kh;
  g.kw = kw;
  g.pad_h = g.pad_w = pad;
  return g;
}

// The one-channel forward in both widths: the 8-lane one everywhere below AVX-512, the 16-lane
// one at inference through batch norm + pooling (forward_through).
template <class Width>
class BlockedOneChannelForward : public ::testing::Test {};
TYPED_TEST_SUITE(BlockedOneChannelForward, Widths, WidthName);

// The one-channel forward against the sum written out, with and without bias and padding.
TYPED_TEST(BlockedOneChannelForward, IsTheSumWrittenOut) {
  constexpr int B = TypeParam::value;
  struct Case {
    int n, h, w, kh, kw, pad;
    bool bias;
  };
  for (const Case& t : {Case{3, 9, 11, 3, 3, 0, true}, Case{2, 7, 7, 3, 3, 1, false}, Case{2, 12, 10, 5, 5, 2, true}}) {
    const ConvGeometry g = one_channel_geometry(t.n, t.h, t.w, t.kh, t.kw, t.pad);
    const int oh = g.out_h(), ow = g.out_w();
    const Floats x = pattern(size_t(g.n * g.h * g.w), 0.5f), w = pattern(size_t(g.k * g.kh * g.kw), 2.5f),
                 bias = pattern(size_t(g.k), 3.5f);
    Floats y(size_t(g.n * g.k * oh * ow), -1.0f);
    ASSERT_TRUE(
        cpu::blocked::OneChannelConv<B>::forward(g, x.data(), w.data(), t.bias ? bias.data() : nullptr, y.data()));
    Floats want(y.size());
    for (int i = 0; i < g.n; ++i)
      for (int k = 0; k < g.k; ++k)
        for (int r = 0; r < oh; ++r)
          for (int q = 0; q < ow; ++q) {
            double sum = t.bias ? bias[size_t(k)] : 0.0;
            for (int a = 0; a < g.kh; ++a)
              for (int b = 0; b < g.kw; ++b) {
                const int yy = r + a - g.pad_h, xc = q + b - g.pad_w;
                if (yy >= 0 && yy < g.h && xc >= 0 && xc < g.w)
                  sum += double(x[size_t((i * g.h + yy) * g.w + xc)]) * w[size_t((k * g.kh + a) * g.kw + b)];
              }
            want[size_t(((i * g.k + k) * oh + r) * ow + q)] = float(sum);
          }
    expect_close(plain<B>(g.n, g.k, oh * ow, y), want, "y");
  }
}

// The one-channel weight gradient against the sum written out, on odd sizes, with padding, a
// batch smaller than its slices, and each kernel width it takes; other geometries are refused.
TEST(BlockedOneChannelConv, WeightGradientIsTheSumWrittenOut) {
  struct Case {
    int n, h, w, kh, kw, pad;
  };
  for (const Case& t :
       {Case{5, 9, 11, 3, 3, 0}, Case{3, 7, 7, 3, 3, 1}, Case{17, 12, 10, 5, 5, 2}, Case{2, 6, 6, 2, 5, 0}}) {
    const ConvGeometry g = one_channel_geometry(t.n, t.h, t.w, t.kh, t.kw, t.pad);
    const int oh = g.out_h(), ow = g.out_w();
    const Floats x = pattern(size_t(g.n * g.h * g.w), 0.5f), dy = pattern(size_t(g.n * g.k * oh * ow), 1.5f);
    Floats dw(size_t(g.k * g.kh * g.kw), -1.0f), dbias(size_t(g.k), -1.0f);
    ASSERT_TRUE(cpu::blocked::OneChannelConv<8>::backward_weights(g, x.data(), blocked<8>(g.n, g.k, oh * ow, dy).data(),
                                                                  dw.data(), dbias.data()));
    Floats want_dw(dw.size(), 0.0f), want_bias(dbias.size(), 0.0f);
    for (int i = 0; i < g.n; ++i)
      for (int k = 0; k < g.k; ++k)
        for (int r = 0; r < oh; ++r)
          for (int q = 0; q < ow; ++q) {
            const float d = dy[size_t(((i * g.k + k) * oh + r) * ow + q)];
            want_bias[size_t(k)] += d;
            for (int a = 0; a < g.kh; ++a)
              for (int b = 0; b < g.kw; ++b) {
                const int y = r + a - g.pad_h, xc = q + b - g.pad_w;
                if (y >= 0 && y < g.h && xc >= 0 && xc < g.w)
                  want_dw[size_t((k * g.kh + a) * g.kw + b)] += x[size_t((i * g.h + y) * g.w + xc)] * d;
              }
          }
    // Float sums of up to 1,000 products of size ~4 in another order: a few 1e-4 apart; a wrong
    // tap or lane is off by whole units.
    expect_close(dw, want_dw, "dw", {2e-3, 1e-4});
    expect_close(dbias, want_bias, "dbias", {2e-3, 1e-4});
  }
  ConvGeometry wide;
  wide.n = 1;
  wide.c = 2;  // two input channels: not this kernel's
  wide.h = wide.w = 8;
  wide.k = 16;
  wide.kh = wide.kw = 3;
  EXPECT_FALSE(cpu::blocked::OneChannelConv<8>::backward_weights(wide, nullptr, nullptr, nullptr, nullptr));
  EXPECT_FALSE(cpu::blocked::OneChannelConv<8>::forward(wide, nullptr, nullptr, nullptr, nullptr));
  ConvGeometry partial_group = one_channel_geometry(1, 8, 8, 3, 3, 0);
  partial_group.k = 24;  // blocks of 8, but not whole groups of 16
  EXPECT_FALSE(cpu::blocked::OneChannelConv<8>::backward_weights(partial_group, nullptr, nullptr, nullptr, nullptr));
  EXPECT_FALSE(cpu::blocked::OneChannelConv<8>::forward(partial_group, nullptr, nullptr, nullptr, nullptr));
  ConvGeometry strided = wide;
  strided.c = 1;
  strided.stride = 2;
  EXPECT_FALSE(cpu::blocked::OneChannelConv<8>::backward_weights(strided, nullptr, nullptr, nullptr, nullptr));
  EXPECT_FALSE(cpu::blocked::OneChannelConv<8>::forward(strided, nullptr, nullptr, nullptr, nullptr));
}

// Batch norm + ReLU + max pooling (2 / 2) of convolution g's output, and the values of that output
// and of the pooled one.
struct BlockAfter {
  BatchNormGeometry bn;
  PoolGeometry p;
  size_t count, pooled;
};
BlockAfter block_after(const ConvGeometry& g, BnActivation act) {
  const int oh = g.out_h(), ow = g.out_w();
  BlockAfter b;
  b.bn.n = g.n;
  b.bn.c = g.k;
  b.bn.spatial = oh * ow;
  b.bn.activation = act;
  b.p = {g.n, g.k, oh, ow, 2, 2};
  b.count = size_t(g.n * g.k * oh * ow);
  b.pooled = size_t(g.n * g.k * b.p.out_h() * b.p.out_w());
  return b;
}

// The weight gradient through batch norm + ReLU + max pooling's backward, never storing the
// convolution's output gradient, against the two ops one after the other: the same bits. An even
// map (every position in a window) and an odd one (the last row and column in none), a batch
// that does not split evenly into slices, each activation order; other geometries are refused.
TEST(BlockedOneChannelConv, WeightGradientThroughPooledBatchNormIsTheTwoOps) {
  using Conv = cpu::blocked::OneChannelConv<8>;
  using BatchNorm = cpu::blocked::BatchNorm<8>;
  struct Case {
    int n, h, kw, pad;
    BnActivation act;
  };
  for (const Case& t : {Case{5, 12, 3, 0, BnActivation::kReluAfter}, Case{3, 13, 3, 0, BnActivation::kReluBefore},
                        Case{9, 11, 5, 2, BnActivation::kNone}}) {
    const ConvGeometry g = one_channel_geometry(t.n, t.h, t.h, t.kw, t.kw, t.pad);
    const auto [bn_g, p, count, pooled] = block_after(g, t.act);
    const Floats image = pattern(size_t(g.n * g.h * g.w), 0.5f), w = pattern(size_t(g.k * g.kh * g.kw), 2.5f),
                 bias = pattern(size_t(g.k), 3.5f), gamma = pattern(size_t(g.k), 3.0f),
                 beta = pattern(size_t(g.k), 4.0f);
    const Floats dy = blocked<8>(g.n, g.k, p.out_h() * p.out_w(), pattern(pooled, 1.1f));
    Floats x(count), y(pooled), rm(size_t(g.k), 0.0f), rv(size_t(g.k), 1.0f), mean(size_t(g.k)), inv(size_t(g.k));
    std::vector<int32_t> argmax(pooled);
    ASSERT_TRUE(Conv::forward(g, image.data(), w.data(), bias.data(), x.data()));
    BatchNorm::maxpool_forward_train(bn_g, p, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), mean.data(),
                                     inv.data(), y.data(), argmax.data());

    Floats dx(count), dw_a(w.size()), db_a(bias.size()), dg_a(gamma.size()), dbeta_a(beta.size());
    BatchNorm::maxpool_backward(bn_g, p, x.data(), dy.data(), argmax.data(), gamma.data(), beta.data(), mean.data(),
                                inv.data(), dx.data(), dg_a.data(), dbeta_a.data());
    ASSERT_TRUE(Conv::backward_weights(g, image.data(), dx.data(), dw_a.data(), db_a.data()));

    const cpu::blocked::PooledBnBackward in{bn_g,         p,           x.data(),    dy.data(), argmax.data(),
                                            gamma.data(), beta.data(), mean.data(), inv.data()};
    Floats dw_b(w.size(), -1.0f), db_b(bias.size(), -1.0f), dg_b(gamma.size(), -1.0f), dbeta_b(beta.size(), -1.0f);
    ASSERT_TRUE(
        Conv::backward_weights_through(g, image.data(), in, dw_b.data(), db_b.data(), dg_b.data(), dbeta_b.data()));
    EXPECT_EQ(dw_b, dw_a);
    EXPECT_EQ(db_b, db_a);
    EXPECT_EQ(dg_b, dg_a);
    EXPECT_EQ(dbeta_b, dbeta_a);

    cpu::blocked::PooledBnBackward overlapping = in;  // windows of 3 every 2: not the fused pooling
    overlapping.p.size = 3;
    EXPECT_FALSE(Conv::backward_weights_through(g, image.data(), overlapping, dw_b.data(), db_b.data(), dg_b.data(),
                                                dbeta_b.data()));
    cpu::blocked::PooledBnBackward other_map = in;
    other_map.g.spatial += 1;
    EXPECT_FALSE(Conv::backward_weights_through(g, image.data(), other_map, dw_b.data(), db_b.data(), dg_b.data(),
                                                dbeta_b.data()));
  }
}

// The forward into batch norm + ReLU + max pooling's inference forward, never storing the
// convolution's output, against the two ops one after the other: the same y and argmax, bit for
// bit. One image and several, an even map and an odd one, each kernel width, with and without
// bias, each activation order; other geometries are refused.
TYPED_TEST(BlockedOneChannelForward, ThroughPooledBatchNormIsTheTwoOps) {
  constexpr int B = TypeParam::value;
  using Conv = cpu::blocked::OneChannelConv<B>;
  using BatchNorm = cpu::blocked::BatchNorm<B>;
  struct Case {
    int n, h, kw, pad;
    bool bias;
    BnActivation act;
  };
  for (const Case& t :
       {Case{1, 12, 3, 0, true, BnActivation::kReluBefore}, Case{5, 13, 3, 0, false, BnActivation::kReluAfter},
        Case{3, 11, 5, 2, true, BnActivation::kNone}}) {
    const ConvGeometry g = one_channel_geometry(t.n, t.h, t.h, t.kw, t.kw, t.pad);
    const auto [bn_g, p, count, pooled] = block_after(g, t.act);
    const Floats image = pattern(size_t(g.n * g.h * g.w), 0.5f), w = pattern(size_t(g.k * g.kh * g.kw), 2.5f),
                 bias = pattern(size_t(g.k), 3.5f), gamma = pattern(size_t(g.k), 3.0f),
                 beta = pattern(size_t(g.k), 4.0f), mean = pattern(size_t(g.k), 5.0f);
    Floats var = pattern(size_t(g.k), 6.0f);
    for (float& v : var) v = v * v + 0.1f;
    const float* b = t.bias ? bias.data() : nullptr;

    Floats x(count), y_a(pooled);
    std::vector<int32_t> argmax_a(pooled);
    ASSERT_TRUE(Conv::forward(g, image.data(), w.data(), b, x.data()));
    BatchNorm::maxpool_forward_infer(bn_g, p, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), y_a.data(),
                                     argmax_a.data());

    Floats y_b(pooled, -1.0f);
    std::vector<int32_t> argmax_b(pooled, -1);
    const cpu::blocked::PooledBnInfer in{bn_g,        p,          gamma.data(), beta.data(),
                                         mean.data(), var.data(), y_b.data(),   argmax_b.data()};
    ASSERT_TRUE(Conv::forward_through(g, image.data(), w.data(), b, in));
    EXPECT_EQ(y_b, y_a);
    EXPECT_EQ(argmax_b, argmax_a);

    cpu::blocked::PooledBnInfer overlapping = in;  // windows of 3 every 2: not the fused pooling
    overlapping.p.size = 3;
    EXPECT_FALSE(Conv::forward_through(g, image.data(), w.data(), b, overlapping));
    cpu::blocked::PooledBnInfer other_batch = in;
    other_batch.g.n += 1;
    EXPECT_FALSE(Conv::forward_through(g, image.data(), w.data(), b, other_batch));
    ConvGeometry partial_group = g;
    partial_group.k = 24;  // blocks of 8, but not whole groups of 16
    cpu::blocked::PooledBnInfer fewer = in;
    fewer.g.c = fewer.p.c = 24;
    EXPECT_FALSE(Conv::forward_through(partial_group, image.data(), w.data(), b, fewer));
  }
}

}  // namespace
}  // namespace hdr

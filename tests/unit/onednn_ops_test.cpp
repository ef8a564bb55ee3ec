// OneDnnOps against plain double-precision loops: GEMM in every transpose combination, and
// each convolution op on odd shapes (channel counts that are not multiples of oneDNN's block
// of 16, both paddings, both strides, non-square inputs) and on seed 000's shapes. Tolerances
// scale with the sum of |terms| of each output, so they hold for long sums yet catch any
// wrong index. The cache tests check that a cached primitive picks up new pointers and data.
#include <gtest/gtest.h>

#include <oneapi/dnnl/dnnl_version.h>
#include <algorithm>
#include <array>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/backends/cpu/onednn_ops.h"
#include "kernels/cpu/blocked.h"
#include "tests/conv_reference.h"

namespace hdr {
namespace {

using test::expect_close;
using test::Reference;
using test::reference_backward_data;
using test::reference_backward_weights;
using test::reference_bias_grad;
using test::reference_forward;
using test::w_size;
using test::x_size;
using test::y_size;

std::vector<float> random_vector(size_t size, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(size);
  for (float& x : v) x = dist(gen);
  return v;
}

// ---- GEMM ----

struct GemmCase {
  bool trans_a, trans_b;
  int m, n, k;
};

Reference reference_gemm(const GemmCase& s, float alpha, const std::vector<float>& a, const std::vector<float>& b,
                         float beta, const std::vector<float>& c) {
  Reference r(size_t(s.m) * s.n);
  for (int i = 0; i < s.m; ++i)
    for (int j = 0; j < s.n; ++j) {
      const size_t o = size_t(i) * s.n + j;
      for (int p = 0; p < s.k; ++p) {
        const double av = s.trans_a ? a[size_t(p) * s.m + i] : a[size_t(i) * s.k + p];
        const double bv = s.trans_b ? b[size_t(j) * s.k + p] : b[size_t(p) * s.n + j];
        r.add(o, double(alpha) * av * bv);
      }
      if (beta != 0.0f) r.add(o, double(beta) * c[o]);
    }
  return r;
}

TEST(OneDnnGemm, AllTransposesMatchReferenceWithAlphaAndBeta) {
  OneDnnOps ops;
  for (const auto& [m, n, k] : {std::array{7, 5, 3}, std::array{33, 17, 65}, std::array{64, 10, 128}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const GemmCase s{ta, tb, m, n, k};
        const auto a = random_vector(size_t(m) * k, 1);
        const auto b = random_vector(size_t(k) * n, 2);
        auto c = random_vector(size_t(m) * n, 3);
        const Reference want = reference_gemm(s, 0.7f, a, b, -1.3f, c);
        ops.gemm(ta, tb, m, n, k, 0.7f, a.data(), b.data(), -1.3f, c.data());
        expect_close(c, want, fmt::format("gemm {}{} {}x{}x{}", ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k));
      }
}

TEST(OneDnnGemm, BetaZeroIgnoresWhatCHeld) {
  OneDnnOps ops;
  const GemmCase s{false, true, 9, 4, 11};
  const auto a = random_vector(size_t(s.m) * s.k, 4);
  const auto b = random_vector(size_t(s.k) * s.n, 5);
  std::vector<float> c(size_t(s.m) * s.n, std::numeric_limits<float>::quiet_NaN());
  const Reference want = reference_gemm(s, 1.0f, a, b, 0.0f, c);
  ops.gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), b.data(), 0.0f, c.data());
  expect_close(c, want, "gemm beta 0 over NaN");
}

// ---- Convolution ----

// The CPU backend's activation layout (kernels/cpu/blocked.h): inputs go in converted from the
// NCHW the references use, outputs come back converted to NCHW.
std::vector<float> to_engine(int n, int c, int h, int w, const std::vector<float>& plain) {
  const int block = OneDnnOps::activation_block();
  if (!cpu::blocked::is_blocked(block, c, int64_t(h) * w)) return plain;
  std::vector<float> out(plain.size());
  cpu::blocked::with_block(
      block, [&](auto b) { cpu::blocked::Reorder<b>::from_nchw(n, c, int64_t(h) * w, plain.data(), out.data()); });
  return out;
}
std::vector<float> from_engine(int n, int c, int h, int w, const std::vector<float>& engine) {
  const int block = OneDnnOps::activation_block();
  if (!cpu::blocked::is_blocked(block, c, int64_t(h) * w)) return engine;
  std::vector<float> out(engine.size());
  cpu::blocked::with_block(
      block, [&](auto b) { cpu::blocked::Reorder<b>::to_nchw(n, c, int64_t(h) * w, engine.data(), out.data()); });
  return out;
}
std::vector<float> x_in(const ConvGeometry& g, const std::vector<float>& x) { return to_engine(g.n, g.c, g.h, g.w, x); }
std::vector<float> y_in(const ConvGeometry& g, const std::vector<float>& y) {
  return to_engine(g.n, g.k, g.out_h(), g.out_w(), y);
}
std::vector<float> x_out(const ConvGeometry& g, const std::vector<float>& x) {
  return from_engine(g.n, g.c, g.h, g.w, x);
}
std::vector<float> y_out(const ConvGeometry& g, const std::vector<float>& y) {
  return from_engine(g.n, g.k, g.out_h(), g.out_w(), y);
}

std::string describe(const ConvGeometry& g) {
  return fmt::format("n{} c{} {}x{} k{} {}x{} pad {},{} stride {}", g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.pad_h,
                     g.pad_w, g.stride);
}

ConvGeometry geometry(int n, int c, int h, int w, int k, int kh, int kw, int pad_h, int pad_w, int stride) {
  return ConvGeometry{n, c, h, w, k, kh, kw, pad_h, pad_w, stride};
}

class OneDnnConv : public testing::TestWithParam<ConvGeometry> {};

TEST_P(OneDnnConv, ForwardWithAndWithoutBias) {
  const ConvGeometry g = GetParam();
  const auto x = random_vector(x_size(g), 10), w = random_vector(w_size(g), 11), bias = random_vector(g.k, 12);
  const auto xe = x_in(g, x);
  OneDnnOps ops;
  std::vector<float> y(y_size(g), 99.0f);
  ops.conv_forward(g, xe.data(), w.data(), bias.data(), y.data());
  expect_close(y_out(g, y), reference_forward(g, x, w, bias.data()), "forward+bias " + describe(g));
  ops.conv_forward(g, xe.data(), w.data(), nullptr, y.data());
  expect_close(y_out(g, y), reference_forward(g, x, w, nullptr), "forward " + describe(g));
}

TEST_P(OneDnnConv, BackwardData) {
  const ConvGeometry g = GetParam();
  const auto w = random_vector(w_size(g), 13), dy = random_vector(y_size(g), 14);
  const auto dye = y_in(g, dy);
  OneDnnOps ops;
  std::vector<float> dx(x_size(g), 99.0f);  // rows and columns no output sees must come back 0
  ops.conv_backward_data(g, w.data(), dye.data(), dx.data());
  expect_close(x_out(g, dx), reference_backward_data(g, w, dy), "backward-data " + describe(g));
}

TEST_P(OneDnnConv, BackwardWeightsWithAndWithoutBias) {
  const ConvGeometry g = GetParam();
  const auto x = random_vector(x_size(g), 15), dy = random_vector(y_size(g), 16);
  const auto xe = x_in(g, x), dye = y_in(g, dy);
  OneDnnOps ops;
  std::vector<float> dw(w_size(g), 99.0f), db(size_t(g.k), 99.0f);
  ops.conv_backward_weights(g, xe.data(), dye.data(), dw.data(), db.data());
  expect_close(dw, reference_backward_weights(g, x, dy), "backward-weights " + describe(g));
  expect_close(db, reference_bias_grad(g, dy), "backward-bias " + describe(g));
  std::fill(dw.begin(), dw.end(), 99.0f);
  ops.conv_backward_weights(g, xe.data(), dye.data(), dw.data(), nullptr);
  expect_close(dw, reference_backward_weights(g, x, dy), "backward-weights, no bias " + describe(g));
}

INSTANTIATE_TEST_SUITE_P(OneDnnOddShapes, OneDnnConv,
                         testing::Values(geometry(3, 5, 13, 13, 7, 3, 3, 0, 0, 1),
                                         geometry(3, 5, 13, 13, 7, 3, 3, 1, 1, 1),
                                         geometry(3, 5, 13, 13, 7, 3, 3, 0, 0, 2),
                                         geometry(3, 5, 13, 13, 7, 3, 3, 1, 1, 2),
                                         geometry(3, 5, 14, 12, 7, 3, 3, 0, 0, 2),  // last row, column unseen
                                         geometry(2, 4, 12, 12, 6, 3, 3, 1, 1, 3),  // right padding unused
                                         geometry(2, 3, 11, 8, 17, 3, 2, 1, 0, 1),  // h != w, kh != kw
                                         geometry(2, 20, 9, 9, 33, 5, 5, 2, 2, 2),
                                         geometry(2, 16, 4, 4, 9, 4, 4, 0, 0, 1),  // cnn_best's last: to 1x1
                                         // outputs of at most 3x3: weight gradient as one GEMM
                                         geometry(3, 5, 5, 5, 7, 3, 3, 0, 0, 1),      // plain in, plain out
                                         geometry(2, 16, 6, 5, 16, 3, 3, 1, 1, 2),    // padded, strided, blocked
                                         geometry(3, 24, 4, 4, 16, 3, 3, 0, 0, 1)));  // blocked 2x2 output

// Seed 000's three convolutions (28x28x1 -> 32, then 13x13x32 -> 64, 5x5x64 -> 128) at n = 2, and
// the last at 16 too: on nChw8c (AVX2) that batch's 16 tiles take it to Winograd F(3x3, 3x3).
INSTANTIATE_TEST_SUITE_P(OneDnnSeed000Shapes, OneDnnConv,
                         testing::Values(geometry(2, 1, 28, 28, 32, 3, 3, 0, 0, 1),
                                         geometry(2, 32, 13, 13, 64, 3, 3, 0, 0, 1),
                                         geometry(2, 64, 5, 5, 128, 3, 3, 0, 0, 1),
                                         geometry(16, 64, 5, 5, 128, 3, 3, 0, 0, 1)));

// Every convolution of seed 000's CNN and of cnn_best, at the batch they train with, runs an
// optimised oneDNN kernel, never its reference loops ("ref:any"): on AVX2 the first layer's
// backward-weights once fell to them and took 90% of cnn_best's step (choose_layouts).
TEST(OneDnnConvChoice, NoTrainingConvolutionRunsReferenceCode) {
  const std::vector<ConvGeometry> shapes{
      geometry(64, 1, 28, 28, 32, 3, 3, 0, 0, 1),  geometry(64, 32, 13, 13, 64, 3, 3, 0, 0, 1),
      geometry(64, 64, 5, 5, 128, 3, 3, 0, 0, 1),  geometry(64, 32, 26, 26, 32, 3, 3, 0, 0, 1),
      geometry(64, 32, 24, 24, 32, 5, 5, 2, 2, 2), geometry(64, 32, 12, 12, 64, 3, 3, 0, 0, 1),
      geometry(64, 64, 10, 10, 64, 3, 3, 0, 0, 1), geometry(64, 64, 8, 8, 64, 5, 5, 2, 2, 2),
      geometry(64, 64, 4, 4, 128, 4, 4, 0, 0, 1)};
  OneDnnOps ops;
  for (const ConvGeometry& g : shapes) {
    const auto x = x_in(g, random_vector(x_size(g), 1)), dy = y_in(g, random_vector(y_size(g), 2));
    const auto w = random_vector(w_size(g), 3);
    std::vector<float> y(y_size(g)), dx(x_size(g)), dw(w_size(g)), db(size_t(g.k));
    ops.conv_forward(g, x.data(), w.data(), nullptr, y.data());
    ops.conv_backward_data(g, w.data(), dy.data(), dx.data());
    ops.conv_backward_weights(g, x.data(), dy.data(), dw.data(), db.data());
  }
  const std::vector<std::string> lines = ops.implementations();
  EXPECT_EQ(lines.size(), 3 * shapes.size());
  for (const std::string& line : lines) EXPECT_EQ(line.find(": ref"), std::string::npos) << line;
  // The weight gradients of outputs of at most 3x3 positions run as one GEMM: seed 000's conv3
  // (5x5 -> 3x3) and cnn_best's last (4x4 -> 1x1); the 4x4 output of cnn_best's conv6 does not.
  const auto route = [&](const std::string& op, const std::string& geometry) {
    for (const std::string& line : lines)
      if (line.rfind(op + " " + geometry + ":", 0) == 0) return line.substr(line.rfind(": ") + 2);
    return std::string("(not run)");
  };
  const bool eight = OneDnnOps::activation_block() == 8;
  const std::string winograd4 = "winograd F(4x4,3x3) (hdr)", winograd3 = "winograd F(3x3,3x3) (hdr)";
  EXPECT_EQ(route("backward-weights+bias", "n64 c64 5x5 k128 3x3 pad 0,0 stride 1"),
            eight ? winograd3 : "im2col + sgemm");
  EXPECT_EQ(route("backward-weights+bias", "n64 c64 4x4 k128 4x4 pad 0,0 stride 1"), "im2col + sgemm");
  EXPECT_NE(route("backward-weights+bias", "n64 c64 8x8 k64 5x5 pad 2,2 stride 2"), "im2col + sgemm");
  EXPECT_NE(route("backward-weights+bias", "n64 c64 8x8 k64 5x5 pad 2,2 stride 2"), "(not run)");
  // On nChw8c (AVX2) the three passes of 3x3 stride-1 layers run as Winograd: F(4x4) for seed
  // 000's conv2 and cnn_best's 3x3 layers, F(3x3) for seed 000's conv3 (3x3 out, one tile), not
  // its first layer (one channel) nor the 5x5 layers. Elsewhere the library runs them all.
  for (const char* op : {"forward", "backward-data", "backward-weights+bias"}) {
    EXPECT_EQ(route(op, "n64 c32 13x13 k64 3x3 pad 0,0 stride 1") == winograd4, eight) << op;
    EXPECT_EQ(route(op, "n64 c32 12x12 k64 3x3 pad 0,0 stride 1") == winograd4, eight) << op;
    EXPECT_EQ(route(op, "n64 c64 5x5 k128 3x3 pad 0,0 stride 1") == winograd3, eight) << op;
    EXPECT_EQ(route(op, "n64 c64 8x8 k64 5x5 pad 2,2 stride 2").rfind("winograd", 0), std::string::npos) << op;
  }
  EXPECT_EQ(route("forward", "n64 c1 28x28 k32 3x3 pad 0,0 stride 1").rfind("winograd", 0), std::string::npos);
}

// The profiler's cost of a Winograd pass counts the multiply-adds it performs (36 per 4x4 tile
// or 25 per 3x3 tile, channel and filter), so its GFLOP/s stay below the peak: for conv2, 576
// tiles of 36 against 64 x 121 outputs of 9; for conv3, 64 tiles of 25 against 64 x 9 of 9. A
// single image runs through the library.
TEST(OneDnnConvChoice, WinogradPassesReportTheirMultiplyAdds) {
  const ConvGeometry conv2 = geometry(64, 32, 13, 13, 64, 3, 3, 0, 0, 1),
                     conv3 = geometry(64, 64, 5, 5, 128, 3, 3, 0, 0, 1),
                     one_image = geometry(1, 32, 13, 13, 64, 3, 3, 0, 0, 1);
  const bool eight = OneDnnOps::activation_block() == 8;
  const double conv2_pair = 32.0 * 64, conv3_pair = 64.0 * 128;
  EXPECT_EQ(OneDnnOps::winograd_multiply_adds(Op::conv_forward, conv2), eight ? 64 * 9 * 36 * conv2_pair : 0.0);
  // The input gradient and the weight gradient run over the forward's tiles.
  EXPECT_EQ(OneDnnOps::winograd_multiply_adds(Op::conv_backward_data, conv2), eight ? 64 * 9 * 36 * conv2_pair : 0.0);
  EXPECT_EQ(OneDnnOps::winograd_multiply_adds(Op::conv_backward_weights, conv2),
            eight ? 64 * 9 * 36 * conv2_pair : 0.0);
  for (const Op op : {Op::conv_forward, Op::conv_backward_data, Op::conv_backward_weights})
    EXPECT_EQ(OneDnnOps::winograd_multiply_adds(op, conv3), eight ? 64 * 25 * conv3_pair : 0.0);
  EXPECT_EQ(OneDnnOps::winograd_multiply_adds(Op::conv_forward, one_image), 0.0);
}

TEST(OneDnnConvCache, SameGeometryReusesPrimitiveWithNewPointersAndData) {
  const ConvGeometry g = geometry(3, 5, 13, 13, 7, 3, 3, 1, 1, 1);
  const auto x = random_vector(x_size(g), 20), w = random_vector(w_size(g), 21), bias = random_vector(g.k, 22);
  OneDnnOps ops;
  EXPECT_EQ(ops.cached_primitives(), 0u);
  std::vector<float> y1(y_size(g)), y2(y_size(g));
  ops.conv_forward(g, x.data(), w.data(), bias.data(), y1.data());
  EXPECT_EQ(ops.cached_primitives(), 1u);
  const std::vector<float> x_copy = x, w_copy = w, bias_copy = bias;  // other addresses, same values
  ops.conv_forward(g, x_copy.data(), w_copy.data(), bias_copy.data(), y2.data());
  EXPECT_EQ(ops.cached_primitives(), 1u);
  EXPECT_EQ(y1, y2);  // bit for bit

  const auto x_new = random_vector(x_size(g), 23), w_new = random_vector(w_size(g), 24);
  ops.conv_forward(g, x_new.data(), w_new.data(), bias.data(), y2.data());
  EXPECT_EQ(ops.cached_primitives(), 1u);
  expect_close(y2, reference_forward(g, x_new, w_new, bias.data()), "forward, new data");

  ops.conv_forward(g, x.data(), w.data(), nullptr, y2.data());  // no bias: a primitive of its own
  EXPECT_EQ(ops.cached_primitives(), 2u);
  expect_close(y2, reference_forward(g, x, w, nullptr), "forward without bias after with");
}

TEST(OneDnnConvCache, InterleavedGeometriesAndOpsStayCorrect) {
  const ConvGeometry a = geometry(3, 5, 13, 13, 7, 3, 3, 0, 0, 2), b = geometry(2, 32, 13, 13, 64, 3, 3, 0, 0, 1);
  OneDnnOps ops;
  for (int round = 0; round < 2; ++round) {
    for (const ConvGeometry& g : {a, b}) {
      const uint32_t seed = 100 + 10 * round + (g.c == a.c ? 0 : 5);
      const auto x = random_vector(x_size(g), seed), w = random_vector(w_size(g), seed + 1),
                 dy = random_vector(y_size(g), seed + 2), bias = random_vector(g.k, seed + 3);
      const auto xe = x_in(g, x), dye = y_in(g, dy);
      std::vector<float> y(y_size(g)), dx(x_size(g)), dw(w_size(g)), db(size_t(g.k));
      ops.conv_forward(g, xe.data(), w.data(), bias.data(), y.data());
      ops.conv_backward_data(g, w.data(), dye.data(), dx.data());
      ops.conv_backward_weights(g, xe.data(), dye.data(), dw.data(), db.data());
      const std::string what = fmt::format("round {} {}", round, describe(g));
      expect_close(y_out(g, y), reference_forward(g, x, w, bias.data()), "forward " + what);
      expect_close(x_out(g, dx), reference_backward_data(g, w, dy), "backward-data " + what);
      expect_close(dw, reference_backward_weights(g, x, dy), "backward-weights " + what);
      expect_close(db, reference_bias_grad(g, dy), "backward-bias " + what);
    }
    // 2 geometries x 3 ops, made in round 0 only: primitives, or Winograd passes on nChw8c.
    EXPECT_EQ(ops.implementations().size(), 6u);
    EXPECT_EQ(ops.cached_primitives(), OneDnnOps::activation_block() == 8 ? 3u : 6u);
  }
}

TEST(OneDnnConvCache, RejectsGeometryWithNoOutput) {
  OneDnnOps ops;
  const ConvGeometry g = geometry(1, 1, 2, 2, 1, 3, 3, 0, 0, 1);  // 3x3 filter over 2x2, no padding
  std::vector<float> x(4), w(9), y(1);
  EXPECT_THROW(ops.conv_forward(g, x.data(), w.data(), nullptr, y.data()), std::invalid_argument);
  EXPECT_EQ(ops.cached_primitives(), 0u);
}

TEST(OneDnnVersion, LibraryMatchesHeader) {
  EXPECT_EQ(OneDnnOps().version(), fmt::format("{}.{}.{}", DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR, DNNL_VERSION_PATCH));
}

}  // namespace
}  // namespace hdr

// Winograd F(4x4, 3x3) and F(3x3, 3x3) (kernels/cpu/conv_winograd.h), each case under both,
// against the convolution written out in double precision (tests/conv_reference.h: within 2e-5
// of each value's terms' magnitudes):
// forward with and without bias, every padding it takes, maps whose tiles overhang on both
// sides, a batch whose tiles do not fill the last group, a filter count with an odd block of 8;
// the input gradient, whose tiles overlap; the weight and bias gradients; the same bits on 1, 2
// and 3 threads; the geometries it refuses.
#include "kernels/cpu/conv_winograd.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/blocked.h"
#include "tests/conv_reference.h"
#include "tests/kernel/test_values.h"

namespace hdr {
namespace {

using Floats = std::vector<float>;

Floats pattern(size_t count, uint32_t seed) { return test::make_values(count, 0.1f, 2.0f, seed, true); }

Floats to_blocked(int n, int c, int64_t spatial, const Floats& plain) {
  Floats out(plain.size());
  cpu::blocked::Reorder<8>::from_nchw(n, c, spatial, plain.data(), out.data());
  return out;
}

Floats to_plain(int n, int c, int64_t spatial, const Floats& blocked) {
  Floats out(blocked.size());
  cpu::blocked::Reorder<8>::to_nchw(n, c, spatial, blocked.data(), out.data());
  return out;
}

ConvGeometry geometry(int n, int c, int h, int w, int k, int pad) {
  ConvGeometry g;
  g.n = n;
  g.c = c;
  g.h = h;
  g.w = w;
  g.k = k;
  g.kh = g.kw = 3;
  g.pad_h = g.pad_w = pad;
  return g;
}

constexpr int kTiles[] = {4, 3};  // F(4x4, 3x3), F(3x3, 3x3)

std::string tile_text(int tile) { return " F(" + std::to_string(tile) + "x" + std::to_string(tile) + ")"; }

Floats winograd_forward(const ConvGeometry& g, int tile, const Floats& x_plain, const Floats& w, const float* bias) {
  Floats u(size_t(cpu::winograd::transformed_weight_count(g, tile)));
  cpu::winograd::transform_weights(g, tile, w.data(), false, u.data());
  const int64_t out_spatial = int64_t(g.out_h()) * g.out_w();
  Floats y(size_t(g.n) * g.k * size_t(out_spatial), -7.0f);
  cpu::winograd::forward(g, tile, u.data(), to_blocked(g.n, g.c, int64_t(g.h) * g.w, x_plain).data(), bias, y.data());
  return to_plain(g.n, g.k, out_spatial, y);
}

TEST(WinogradConv, ForwardIsTheConvolution) {
  struct Case {
    int n, c, h, w, k, pad;
    bool bias;
  };
  // conv2 of cnn_bn (11x11 out: 3x3 tiles overhanging), padding 1 and 2 on odd and unequal
  // sides, 24 filters (an odd block of 8), batches whose tiles leave the last group part-full.
  for (const Case& t : {Case{3, 32, 13, 13, 64, 0, true}, Case{2, 16, 9, 7, 24, 1, false},
                        Case{1, 8, 6, 10, 16, 2, true}, Case{5, 8, 5, 5, 8, 0, false}}) {
    const ConvGeometry g = geometry(t.n, t.c, t.h, t.w, t.k, t.pad);
    ASSERT_TRUE(cpu::winograd::supports(g));
    const Floats x = pattern(size_t(g.n) * g.c * g.h * g.w, 1), w = pattern(size_t(g.k) * g.c * 9, 2),
                 bias = pattern(size_t(g.k), 3);
    const float* b = t.bias ? bias.data() : nullptr;
    const test::Reference want = test::reference_forward(g, x, w, b);
    for (const int tile : kTiles)
      test::expect_close(winograd_forward(g, tile, x, w, b), want,
                         "y of " + std::to_string(t.h) + "x" + std::to_string(t.w) + " pad " + std::to_string(t.pad) +
                             tile_text(tile));
  }
}

// dx[c][y][x] = sum over k, i, j of dy[k][y - i + pad][x - j + pad] w[k][c][i][j], written out as
// the adjoint of the forward; batches of 2 and 3 images (whole images per task).
TEST(WinogradConv, InputGradientIsTheAdjoint) {
  struct Case {
    int n, c, k, pad;
  };
  // Every padding; 24 channels, so 24 filters of the product (a block of 16 and one of 8); 3
  // images, a task each; 10 images of 9 (F(4x4)) or 12 (F(3x3)) tiles: 5 tasks of 2 images, whose
  // overlapping tiles are added image by image.
  for (const Case& t : {Case{2, 16, 32, 0}, Case{3, 24, 16, 1}, Case{3, 16, 8, 2}, Case{10, 8, 16, 0}}) {
    const int pad = t.pad;
    const ConvGeometry g = geometry(t.n, t.c, 13, 11, t.k, pad);
    const int oh = g.out_h(), ow = g.out_w();
    const Floats dy = pattern(size_t(g.n) * g.k * oh * ow, 4), w = pattern(size_t(g.k) * g.c * 9, 5);
    const test::Reference want = test::reference_backward_data(g, w, dy);
    for (const int tile : kTiles) {
      Floats u(size_t(cpu::winograd::transformed_weight_count(g, tile)));
      cpu::winograd::transform_weights(g, tile, w.data(), true, u.data());
      Floats dx(want.value.size(), -7.0f);  // every value written, those no output sees as 0
      cpu::winograd::backward_data(g, tile, u.data(), to_blocked(g.n, g.k, int64_t(oh) * ow, dy).data(), dx.data());
      test::expect_close(to_plain(g.n, g.c, int64_t(g.h) * g.w, dx), want,
                         "dx pad " + std::to_string(pad) + tile_text(tile));
    }
  }
}

// dw[k][c][i][j] = sum over n, y, x of dy[k][y][x] x[c][y + i - pad][x + j - pad]; dbias[k] = sum
// of dy[k]. Batches of one tile (three of the four slices empty) up to several per slice; 24
// channels (a block of 16 and one of 8) and 8 or 24 filters (blocks of 6 and their remainders).
TEST(WinogradConv, WeightGradientIsTheCorrelation) {
  struct Case {
    int n, c, h, w, k, pad;
  };
  for (const Case& t :
       {Case{3, 32, 13, 13, 64, 0}, Case{1, 8, 5, 5, 8, 0}, Case{2, 24, 9, 7, 24, 1}, Case{3, 16, 6, 10, 8, 2}}) {
    const ConvGeometry g = geometry(t.n, t.c, t.h, t.w, t.k, t.pad);
    const int oh = g.out_h(), ow = g.out_w();
    const Floats x = pattern(size_t(g.n) * g.c * g.h * g.w, 8), dy = pattern(size_t(g.n) * g.k * oh * ow, 9);
    const test::Reference want_dw = test::reference_backward_weights(g, x, dy),
                          want_db = test::reference_bias_grad(g, dy);
    for (const int tile : kTiles) {
      Floats dw(test::w_size(g), -7.0f), db(size_t(g.k), -7.0f);
      cpu::winograd::backward_weights(g, tile, to_blocked(g.n, g.c, int64_t(g.h) * g.w, x).data(),
                                      to_blocked(g.n, g.k, int64_t(oh) * ow, dy).data(), dw.data(), db.data());
      const std::string what = std::to_string(t.h) + "x" + std::to_string(t.w) + " pad " + std::to_string(t.pad) +
                               tile_text(tile);
      test::expect_close(dw, want_dw, "dw of " + what);
      test::expect_close(db, want_db, "dbias of " + what);
    }
  }
}

TEST(WinogradConv, SameBitsOnOneTwoAndThreeThreads) {
#if defined(__SANITIZE_THREAD__)
  // tests/CMakeLists.txt: TSan cannot see OpenMP's barriers, so its builds run one thread.
  GTEST_SKIP() << "more than one OpenMP thread under ThreadSanitizer";
#endif
  const ConvGeometry g = geometry(7, 32, 13, 13, 64, 0);
  const Floats x = pattern(size_t(g.n) * g.c * g.h * g.w, 6), w = pattern(size_t(g.k) * g.c * 9, 7);
  const int threads = omp_get_max_threads();
  const Floats xb = to_blocked(g.n, g.c, int64_t(g.h) * g.w, x), dy = pattern(size_t(g.n) * g.k * 121, 10);
  for (const int tile : kTiles) {
    // The three passes' results, the input gradient's from the same dy.
    const auto passes = [&] {
      Floats all = winograd_forward(g, tile, x, w, nullptr), dw(w.size()), db(size_t(g.k)),
             u(size_t(cpu::winograd::transformed_weight_count(g, tile))), dx(xb.size());
      cpu::winograd::backward_weights(g, tile, xb.data(), dy.data(), dw.data(), db.data());
      cpu::winograd::transform_weights(g, tile, w.data(), true, u.data());
      cpu::winograd::backward_data(g, tile, u.data(), dy.data(), dx.data());
      for (const Floats* part : {&dw, &db, &dx}) all.insert(all.end(), part->begin(), part->end());
      return all;
    };
    omp_set_num_threads(1);
    const Floats one = passes();
    omp_set_num_threads(2);
    const Floats two = passes();
    omp_set_num_threads(3);  // groups and slices shared unevenly
    const Floats three = passes();
    omp_set_num_threads(threads);
    ASSERT_EQ(one.size(), two.size());
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float))) << tile_text(tile);
    EXPECT_EQ(0, std::memcmp(one.data(), three.data(), one.size() * sizeof(float))) << tile_text(tile);
  }
}

// The tile with fewer products: 3x3 for an output of 3x3 (one tile of 25 products against 36)
// or 9x6 (6 tiles of 25 against 6 of 36), 4x4 for 11x11 (9 tiles of 36 against 16 of 25) or
// 8x8; the multiply-adds are the tiles' products per channel pair.
TEST(WinogradConv, OutputTileHasTheFewerProducts) {
  EXPECT_EQ(cpu::winograd::output_tile(geometry(64, 64, 5, 5, 128, 0)), 3);
  EXPECT_EQ(cpu::winograd::output_tile(geometry(2, 8, 11, 8, 8, 0)), 3);
  EXPECT_EQ(cpu::winograd::output_tile(geometry(64, 32, 13, 13, 64, 0)), 4);
  EXPECT_EQ(cpu::winograd::output_tile(geometry(1, 8, 10, 10, 8, 0)), 4);
  EXPECT_EQ(cpu::winograd::multiply_adds(geometry(64, 64, 5, 5, 128, 0), 3), 64.0 * 25 * 64 * 128);
  EXPECT_EQ(cpu::winograd::multiply_adds(geometry(64, 64, 5, 5, 128, 0), 4), 64.0 * 36 * 64 * 128);
  EXPECT_EQ(cpu::winograd::multiply_adds(geometry(64, 32, 13, 13, 64, 0), 4), 64.0 * 9 * 36 * 32 * 64);
  EXPECT_EQ(cpu::winograd::multiply_adds(geometry(64, 32, 13, 13, 64, 0), 3), 64.0 * 16 * 25 * 32 * 64);
}

TEST(WinogradConv, RefusesWhatItCannotRun) {
  EXPECT_TRUE(cpu::winograd::supports(geometry(1, 8, 5, 5, 8, 0)));
  ConvGeometry g = geometry(1, 8, 5, 5, 8, 0);
  g.kh = g.kw = 5;
  EXPECT_FALSE(cpu::winograd::supports(g));  // taps
  g = geometry(1, 8, 5, 5, 8, 0);
  g.stride = 2;
  EXPECT_FALSE(cpu::winograd::supports(g));
  EXPECT_FALSE(cpu::winograd::supports(geometry(1, 12, 5, 5, 8, 0)));  // channels not in blocks of 8
  EXPECT_FALSE(cpu::winograd::supports(geometry(1, 8, 5, 5, 20, 0)));  // filters not in blocks of 8
  EXPECT_FALSE(cpu::winograd::supports(geometry(1, 8, 5, 5, 8, 3)));   // padding beyond 2
  g = geometry(1, 8, 5, 5, 8, 1);
  g.pad_w = 0;
  EXPECT_FALSE(cpu::winograd::supports(g));                           // unequal padding
  EXPECT_FALSE(cpu::winograd::supports(geometry(1, 8, 2, 2, 8, 0)));  // no output
}

}  // namespace
}  // namespace hdr

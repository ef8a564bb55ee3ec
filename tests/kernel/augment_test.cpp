// Augmentation (kernels/augment.cuh, kernels/cpu/augment.cpp): exact geometric cases checked
// against index arithmetic written here (identity, 90-degree turn, integer shift, zoom, edge
// clamp), the statistics of the drawn parameters, reproducibility from the key, and the whole
// batch on odd sizes against a plain double-precision bilinear loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "kernels/augment.cuh"
#include "kernels/ops.h"

namespace hdr {
namespace {

// An asymmetric pattern: no rotation or flip of it equals another, all values in 0..250.
std::vector<uint8_t> make_images(int count, int h, int w) {
  std::vector<uint8_t> images(size_t(count) * h * w);
  for (int i = 0; i < count; ++i) {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x)
        images[(size_t(i) * h + y) * w + x] = uint8_t((x * 7 + y * 31 + x * y * 3 + i * 11) % 251);
    }
  }
  return images;
}

// A transformed image through the element math: out(x, y) for all pixels, raw values (scale 1).
std::vector<float> transform_image(const AffineTransform& t, const uint8_t* image, int h, int w) {
  AugmentParams raw;
  raw.scale = 1.0f;
  std::vector<float> out(size_t(h) * w);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) out[size_t(y) * w + x] = augment_pixel(raw, t, image, h, w, x, y);
  }
  return out;
}

// The rotation angle (degrees) of a transform drawn without shift or zoom.
double angle_deg(const AffineTransform& t) { return std::atan2(double(t.yx), double(t.xx)) * 180.0 / std::numbers::pi; }

TEST(Augment, ZeroParametersAreExactScaling) {
  const int h = 28, w = 28, count = 5;
  const auto images = make_images(count, h, w);
  const std::vector<int32_t> indices = {3, 0, 4, 4, 1, 2};
  AugmentParams p;
  p.mean = 0.1307f;
  p.inv_std = 1.0f / 0.3081f;
  ASSERT_TRUE(p.identity());
  std::vector<float> out(indices.size() * h * w);
  cpu::augment(p, RandomKey{7, 1, kStreamAugment}, images.data(), h, w, indices.data(), int(indices.size()),
               out.data());
  for (size_t i = 0; i < indices.size(); ++i) {
    for (int k = 0; k < h * w; ++k) {
      // No interpolation error at all: the float formula's rounding only (whether the compiler
      // fuses value * scale - mean into an FMA changes the last bit, hence 2 ulp, not ==).
      const double pixel = images[size_t(indices[i]) * h * w + k];
      const double expected = (pixel * double(p.scale) - double(p.mean)) * double(p.inv_std);
      ASSERT_NEAR(out[i * h * w + k], expected, 2 * FLT_EPSILON * std::max(1.0, std::abs(expected)))
          << "image " << i << " pixel " << k;
    }
  }
}

TEST(Augment, SamplerAtIntegerPointsReadsPixelsExactly) {
  const int h = 5, w = 7;
  const auto image = make_images(1, h, w);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x)
      EXPECT_EQ(sample_bilinear(image.data(), h, w, float(x), float(y)), float(image[y * w + x]));
  }
  // Half way between four pixels: their average.
  const double average = (image[1 * w + 2] + image[1 * w + 3] + image[2 * w + 2] + image[2 * w + 3]) / 4.0;
  EXPECT_NEAR(sample_bilinear(image.data(), h, w, 2.5f, 1.5f), average, 1e-4);
  // Outside the image: the nearest edge pixel ("nearest" fill).
  EXPECT_EQ(sample_bilinear(image.data(), h, w, -3.2f, -0.5f), float(image[0]));
  EXPECT_EQ(sample_bilinear(image.data(), h, w, 40.0f, 2.0f), float(image[2 * w + w - 1]));
  EXPECT_EQ(sample_bilinear(image.data(), h, w, 6.0f, 9.0f), float(image[(h - 1) * w + 6]));
}

// np.rot90 (counter-clockwise on screen) of a square: out[y][x] = in[x][n - 1 - y].
void expect_counter_clockwise_quarter_turn(const std::vector<float>& out, const std::vector<uint8_t>& image, int n,
                                           double tolerance) {
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      ASSERT_NEAR(out[size_t(y) * n + x], image[size_t(x) * n + (n - 1 - y)], tolerance) << "x " << x << " y " << y;
    }
  }
}

TEST(Augment, PositiveQuarterTurnIsCounterClockwise) {
  for (int n : {7, 8}) {  // odd: integer centre; even: half-pixel centre
    const auto image = make_images(1, n, n);
    // Exactly representable rotation by +90 degrees: src = c + [0 -1; 1 0] (out - c).
    const float c = 0.5f * float(n - 1);
    const AffineTransform exact{0, -1, 2 * c, 1, 0, 0};
    expect_counter_clockwise_quarter_turn(transform_image(exact, image.data(), n, n), image, n, 0.0);
    // The same through make_affine (cos(pi/2) is not exactly 0 in float, hence the tolerance).
    const AffineTransform made = make_affine(float(std::numbers::pi / 2), 0, 0, 1, 1, n, n);
    expect_counter_clockwise_quarter_turn(transform_image(made, image.data(), n, n), image, n, 1e-3);
  }
  // In words: a single bright pixel at the middle of the right edge ends at the middle of the top.
  const int n = 9;
  std::vector<uint8_t> dot(n * n, 0);
  dot[4 * n + 8] = 200;
  const auto out = transform_image(make_affine(float(std::numbers::pi / 2), 0, 0, 1, 1, n, n), dot.data(), n, n);
  EXPECT_NEAR(out[0 * n + 4], 200.0f, 1e-3);
  EXPECT_NEAR(out[4 * n + 8], 0.0f, 1e-3);
}

TEST(Augment, IntegerShiftMovesContentByMinusShift) {
  const int h = 11, w = 9, tx = 2, ty = -3;
  const auto image = make_images(1, h, w);
  const auto out = transform_image(make_affine(0, float(tx), float(ty), 1, 1, h, w), image.data(), h, w);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      // Keras: out(x, y) = in(x + tx, y + ty), the source point clamped into the image.
      const int sx = std::clamp(x + tx, 0, w - 1), sy = std::clamp(y + ty, 0, h - 1);
      ASSERT_EQ(out[size_t(y) * w + x], float(image[size_t(sy) * w + sx])) << "x " << x << " y " << y;
    }
  }
}

TEST(Augment, ZoomAboveOneReadsWiderArea) {
  const int n = 9, centre = 4;
  const auto image = make_images(1, n, n);
  const auto out = transform_image(make_affine(0, 0, 0, 2, 2, n, n), image.data(), n, n);
  for (int d = -2; d <= 2; ++d) {
    EXPECT_EQ(out[size_t(centre) * n + centre + d], float(image[size_t(centre) * n + centre + 2 * d])) << d;
    EXPECT_EQ(out[size_t(centre + d) * n + centre], float(image[size_t(centre + 2 * d) * n + centre])) << d;
  }
}

TEST(Augment, DrawnAnglesCoverRangeUniformly) {
  AugmentParams p;
  p.rotation_deg = 90;
  const RandomKey key{2024, 3, kStreamAugment};
  const int draws = 20000;
  double sum = 0, low = 0, high = 0;
  int bins[6] = {};  // 30-degree bins over [-90, 90)
  for (int i = 0; i < draws; ++i) {
    const AffineTransform t = affine_for_image(p, key, uint32_t(i), 28, 28);
    // Pure rotation: orthonormal with determinant +1, about the centre.
    ASSERT_NEAR(t.xx, t.yy, 1e-6);
    ASSERT_NEAR(t.xy, -t.yx, 1e-6);
    ASSERT_NEAR(t.xx * t.xx + t.yx * t.yx, 1.0, 1e-5);
    ASSERT_NEAR(t.xx * 13.5f + t.xy * 13.5f + t.x0, 13.5, 1e-4);  // the centre stays put
    const double angle = angle_deg(t);
    ASSERT_GE(angle, -90.0 - 1e-3);
    ASSERT_LE(angle, 90.0 + 1e-3);
    sum += angle;
    low = std::min(low, angle);
    high = std::max(high, angle);
    ++bins[std::clamp(int((angle + 90.0) / 30.0), 0, 5)];
  }
  const double sigma_of_mean = 90.0 / std::sqrt(3.0 * draws);
  EXPECT_NEAR(sum / draws, 0.0, 5 * sigma_of_mean);
  EXPECT_LT(low, -89.0);
  EXPECT_GT(high, 89.0);
  for (int count : bins) EXPECT_NEAR(count, draws / 6.0, 5 * std::sqrt(draws / 6.0));
}

TEST(Augment, DrawnShiftsAndZoomsRespectRanges) {
  const int h = 20, w = 28;
  const RandomKey key{5, 0, kStreamAugment};
  AugmentParams shift;
  shift.shift_x = 0.1f;
  shift.shift_y = 0.25f;
  AugmentParams zoom;
  zoom.zoom = 0.15f;
  double tx_low = 0, tx_high = 0, ty_low = 0, ty_high = 0, zx_sum = 0, zy_sum = 0, zxy_sum = 0, zx_sq = 0;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    const AffineTransform s = affine_for_image(shift, key, uint32_t(i), h, w);
    ASSERT_EQ(s.xx, 1.0f);
    ASSERT_EQ(s.xy, 0.0f);
    ASSERT_EQ(s.yy, 1.0f);
    ASSERT_LE(std::abs(s.x0), 0.1 * w + 1e-5);
    ASSERT_LE(std::abs(s.y0), 0.25 * h + 1e-5);
    tx_low = std::min(tx_low, double(s.x0));
    tx_high = std::max(tx_high, double(s.x0));
    ty_low = std::min(ty_low, double(s.y0));
    ty_high = std::max(ty_high, double(s.y0));

    const AffineTransform z = affine_for_image(zoom, key, uint32_t(i), h, w);
    ASSERT_EQ(z.xy, 0.0f);
    ASSERT_EQ(z.yx, 0.0f);
    ASSERT_GE(z.xx, 0.85f - 1e-6f);
    ASSERT_LE(z.xx, 1.15f + 1e-6f);
    ASSERT_GE(z.yy, 0.85f - 1e-6f);
    ASSERT_LE(z.yy, 1.15f + 1e-6f);
    zx_sum += z.xx - 1.0;
    zy_sum += z.yy - 1.0;
    zxy_sum += (z.xx - 1.0) * (z.yy - 1.0);
    zx_sq += (z.xx - 1.0) * (z.xx - 1.0);
  }
  EXPECT_LT(tx_low, -0.1 * w * 0.99);
  EXPECT_GT(tx_high, 0.1 * w * 0.99);
  EXPECT_LT(ty_low, -0.25 * h * 0.99);
  EXPECT_GT(ty_high, 0.25 * h * 0.99);
  EXPECT_NEAR(zx_sum / draws, 0.0, 0.01);
  EXPECT_NEAR(zy_sum / draws, 0.0, 0.01);
  EXPECT_NEAR(zx_sq / draws, 0.15 * 0.15 / 3.0, 0.0005);  // variance of U(-z, z) is z^2 / 3
  // zx and zy are drawn independently: correlation near 0.
  EXPECT_NEAR(zxy_sum / zx_sq, 0.0, 0.05);
}

// Plain reference: for each output pixel, the transform's source point, clamped, and a
// double-precision bilinear interpolation written out here.
std::vector<double> reference_augment(const AugmentParams& p, const RandomKey& key, const uint8_t* images, int h, int w,
                                      const std::vector<int32_t>& indices) {
  std::vector<double> out(indices.size() * h * w);
  for (size_t i = 0; i < indices.size(); ++i) {
    const uint8_t* image = images + size_t(indices[i]) * h * w;
    const AffineTransform t = affine_for_image(p, key, uint32_t(indices[i]), h, w);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const double sx = std::clamp(double(t.xx) * x + double(t.xy) * y + t.x0, 0.0, w - 1.0);
        const double sy = std::clamp(double(t.yx) * x + double(t.yy) * y + t.y0, 0.0, h - 1.0);
        const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
        const int x1 = std::min(x0 + 1, w - 1), y1 = std::min(y0 + 1, h - 1);
        const double fx = sx - x0, fy = sy - y0;
        const auto at = [&](int xx, int yy) { return double(image[size_t(yy) * w + xx]); };
        const double value = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) +
                             fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
        out[(i * h + y) * w + x] = (value * p.scale - p.mean) * p.inv_std;
      }
    }
  }
  return out;
}

TEST(Augment, OddSizesMatchReferenceLoop) {
  AugmentParams p;
  p.rotation_deg = 15;
  p.shift_x = 0.1f;
  p.shift_y = 0.12f;
  p.zoom = 0.1f;
  p.mean = 0.1307f;
  p.inv_std = 1.0f / 0.3081f;
  const RandomKey key{123456789, 4, kStreamAugment};
  for (auto [h, w] : {std::pair{13, 13}, std::pair{11, 17}, std::pair{28, 28}}) {
    const auto images = make_images(6, h, w);
    const std::vector<int32_t> indices = {5, 1, 3};
    std::vector<float> out(indices.size() * h * w);
    cpu::augment(p, key, images.data(), h, w, indices.data(), int(indices.size()), out.data());
    const auto expected = reference_augment(p, key, images.data(), h, w, indices);
    for (size_t k = 0; k < out.size(); ++k) {
      // Float vs double coordinates: a pixel value (< 255) moves by at most ~1e-4 of a level.
      ASSERT_NEAR(out[k], expected[k], 2e-4 * p.scale * p.inv_std * 255) << h << "x" << w << " element " << k;
    }
  }
}

TEST(Augment, ReproducibleFromKeyAndSample) {
  const int h = 28, w = 28;
  const auto images = make_images(4, h, w);
  AugmentParams p;
  p.rotation_deg = 10;
  p.shift_x = p.shift_y = 0.1f;
  p.zoom = 0.1f;
  const RandomKey key{77, 2, kStreamAugment};
  const auto run = [&](const RandomKey& k, std::vector<int32_t> indices) {
    std::vector<float> out(indices.size() * h * w);
    cpu::augment(p, k, images.data(), h, w, indices.data(), int(indices.size()), out.data());
    return out;
  };
  const auto first = run(key, {2, 0});
  EXPECT_EQ(first, run(key, {2, 0}));
  // A sample's augmentation depends on its dataset row, not its place in the batch.
  const auto swapped = run(key, {0, 2});
  EXPECT_TRUE(std::equal(first.begin(), first.begin() + h * w, swapped.begin() + h * w));
  EXPECT_NE(first, run(RandomKey{77, 3, kStreamAugment}, {2, 0}));  // next epoch
  EXPECT_NE(first, run(RandomKey{78, 2, kStreamAugment}, {2, 0}));  // other seed
}

}  // namespace
}  // namespace hdr

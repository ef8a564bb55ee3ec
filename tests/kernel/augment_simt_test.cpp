// The augment kernel (kernels/augment.cuh) through the CUDA emulation, at several block sizes on
// odd image shapes (h * w not a multiple of the block), against the CPU twin and a plain
// double-precision loop that rebuilds the affine map from the Philox draws itself.
// Tolerance: kernel and twin run the same float math, but compiled in different translation
// units (the twin with -march=native, so possibly with FMA contraction), so source coordinates
// may differ by a few ulps (~1e-6 px); the bilinear sample is continuous, so the output moves by
// at most 250 levels/px x 1e-6 px / 255 x inv_std (~3) ~ 1e-5 (measured: 3e-6), hence 1e-4. The identity path reads
// pixels directly, so only the normalisation's rounding (one FMA or two operations) can differ.
#include "kernels/simt_host.h"
// simt_host.h first: it enables the __global__ kernels of the .cuh.
#include "kernels/augment.cuh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "engine/verify/compare.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

// An asymmetric pattern in 0..250, different for every image.
std::vector<uint8_t> make_images(int count, int h, int w) {
  std::vector<uint8_t> images(size_t(count) * h * w);
  for (int i = 0; i < count; ++i)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        images[(size_t(i) * h + y) * w + x] = uint8_t((x * 7 + y * 31 + x * y * 3 + i * 11) % 251);
  return images;
}

double symmetric_draw(uint32_t word, double range) { return (2.0 * uniform01(word) - 1.0) * range; }

// src = c + R(theta) * (Z * (out - c) + t), bilinear with edge clamp, in double.
std::vector<float> reference_augment(const AugmentParams& p, const RandomKey& key, const std::vector<uint8_t>& images,
                                     int h, int w, const std::vector<int32_t>& indices) {
  std::vector<float> out;
  for (int32_t row : indices) {
    const Philox4 motion = random_words(key, uint32_t(row), 0);
    const double theta = symmetric_draw(motion.v[0], p.rotation_deg) * std::numbers::pi / 180.0;
    const double tx = symmetric_draw(motion.v[1], double(p.shift_x) * w);
    const double ty = symmetric_draw(motion.v[2], double(p.shift_y) * h);
    double zx = 1, zy = 1;
    if (p.zoom != 0.0f) {
      const Philox4 zoom = random_words(key, uint32_t(row), 1);
      zx = 1 + symmetric_draw(zoom.v[0], p.zoom);
      zy = 1 + symmetric_draw(zoom.v[1], p.zoom);
    }
    const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
    const uint8_t* image = images.data() + size_t(row) * h * w;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const double ux = zx * (x - cx) + tx, uy = zy * (y - cy) + ty;
        const double sx = std::clamp(cx + std::cos(theta) * ux - std::sin(theta) * uy, 0.0, double(w - 1));
        const double sy = std::clamp(cy + std::sin(theta) * ux + std::cos(theta) * uy, 0.0, double(h - 1));
        const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
        const int x1 = std::min(x0 + 1, w - 1), y1 = std::min(y0 + 1, h - 1);
        const double fx = sx - x0, fy = sy - y0;
        auto at = [&](int yy, int xx) { return double(image[yy * w + xx]); };
        const double value = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) +
                             fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        out.push_back(float((value * p.scale - p.mean) * p.inv_std));
      }
    }
  }
  return out;
}

std::vector<float> run_kernel(const AugmentParams& p, const RandomKey& key, const std::vector<uint8_t>& images, int h,
                              int w, const std::vector<int32_t>& indices, int block) {
  const int n = int(indices.size());
  std::vector<float> out(size_t(n) * h * w, -1.0f);
  simt::launch(augment_grid(n), dim3(unsigned(block)), augment_kernel, p, key, images.data(), h, w, indices.data(),
               out.data());
  return out;
}

std::vector<float> run_cpu(const AugmentParams& p, const RandomKey& key, const std::vector<uint8_t>& images, int h,
                           int w, const std::vector<int32_t>& indices) {
  std::vector<float> out(indices.size() * size_t(h) * w);
  cpu::augment(p, key, images.data(), h, w, indices.data(), int(indices.size()), out.data());
  return out;
}

const std::vector<int32_t> kIndices = {4, 0, 2};  // n = 3 rows of a 5-image dataset, out of order
const RandomKey kKey{2024, 3, kStreamAugment};

AugmentParams normalised(AugmentParams p) {
  p.mean = 0.1307f;
  p.inv_std = 1.0f / 0.3081f;
  return p;
}

TEST(AugmentSimt, RandomAffineMatchesCpuTwinAndPlainLoop) {
  AugmentParams p;
  p.rotation_deg = 15;
  p.shift_x = 0.1f;
  p.shift_y = 0.15f;
  p.zoom = 0.1f;
  p = normalised(p);
  const Tolerance tol{1e-4, 1e-4};
  for (auto [h, w] : {std::pair{13, 13}, std::pair{9, 17}}) {
    const auto images = make_images(5, h, w);
    const auto want_cpu = run_cpu(p, kKey, images, h, w, kIndices);
    const auto want_plain = reference_augment(p, kKey, images, h, w, kIndices);
    for (int block : {32, 50, 96, 256}) {
      const auto got = run_kernel(p, kKey, images, h, w, kIndices, block);
      const Comparison vs_cpu = compare(got, want_cpu, tol), vs_plain = compare(got, want_plain, tol);
      EXPECT_TRUE(vs_cpu.ok()) << h << "x" << w << " block " << block << " vs cpu: " << vs_cpu.summary();
      EXPECT_TRUE(vs_plain.ok()) << h << "x" << w << " block " << block << " vs plain: " << vs_plain.summary();
    }
  }
}

TEST(AugmentSimt, RotationOnlyAndZoomOnlyMatchCpuTwin) {
  AugmentParams rotation, zoom;
  rotation.rotation_deg = 30;
  zoom.zoom = 0.2f;
  const int h = 13, w = 13;
  const auto images = make_images(5, h, w);
  for (const AugmentParams& p : {rotation, zoom}) {
    const auto want = run_cpu(p, kKey, images, h, w, kIndices);
    const Comparison c = compare(run_kernel(p, kKey, images, h, w, kIndices, 64), want, Tolerance{1e-5, 1e-5});
    EXPECT_TRUE(c.ok()) << c.summary();
  }
}

TEST(AugmentSimt, IdentityIsPlainScaling) {
  const AugmentParams p = normalised(AugmentParams{});
  const int h = 13, w = 13;
  const auto images = make_images(5, h, w);
  std::vector<float> want_plain;
  for (int32_t row : kIndices)
    for (int k = 0; k < h * w; ++k)
      want_plain.push_back((float(images[size_t(row) * h * w + size_t(k)]) * p.scale - p.mean) * p.inv_std);
  const auto want_cpu = run_cpu(p, kKey, images, h, w, kIndices);
  const Tolerance rounding{1e-6, 1e-6};  // (v * scale - mean) * inv_std may or may not be one FMA
  for (int block : {32, 96, 256}) {
    const auto got = run_kernel(p, kKey, images, h, w, kIndices, block);
    const Comparison vs_cpu = compare(got, want_cpu, rounding), vs_plain = compare(got, want_plain, rounding);
    EXPECT_TRUE(vs_cpu.ok()) << "block " << block << " vs cpu: " << vs_cpu.summary();
    EXPECT_TRUE(vs_plain.ok()) << "block " << block << " vs plain: " << vs_plain.summary();
  }
}

}  // namespace
}  // namespace hdr

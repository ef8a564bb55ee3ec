// What users hand over, made from real MNIST digits: a 28x28 test digit pasted off-centre, scaled
// up 10x, inverted, thickened, coloured, as an alpha-only canvas export, as a JPEG, or as a noisy,
// unevenly lit photo of paper. Each image is a pure function of (digit, style, seed), encoded the
// way a user's file would be (PNG or JPEG, through stb_image_write), so that tests can check that
// preprocessing brings every style back to the MNIST original.
#pragma once

#include <stb_image_write.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <stdexcept>
#include <vector>

#include "engine/core/splitmix64.h"

namespace hdr::test {

enum class UserStyle {
  kOffCentre,  // the 28x28 digit as it is, light on black, somewhere on a larger canvas (gray PNG)
  kScaled,     // 10x, smoothly, with pen-like edges, light on black, off-centre (gray PNG)
  kInverted,   // 10x, dark ink on white paper (gray PNG)
  kThickened,  // 10x, dilated by a disk of 5-9 pixels (a marker), dark on white (gray PNG)
  kRgbInk,     // 10x, blue ink on cream paper (RGB PNG)
  kAlphaInk,   // 10x, ink only in the alpha channel, black or white, transparent paper (RGBA PNG)
  kJpeg,       // 10x, dark on white (RGB JPEG, quality 60-90)
  kPhoto,      // 10x, dark ink on gray paper lit unevenly (2:1 across), Gaussian noise (RGB JPEG)
};

inline constexpr std::array kUserStyles{UserStyle::kOffCentre, UserStyle::kScaled, UserStyle::kInverted,
                                        UserStyle::kThickened, UserStyle::kRgbInk, UserStyle::kAlphaInk,
                                        UserStyle::kJpeg,      UserStyle::kPhoto};

inline const char* user_style_name(UserStyle style) {
  switch (style) {
    case UserStyle::kOffCentre: return "off-centre";
    case UserStyle::kScaled: return "scaled 10x";
    case UserStyle::kInverted: return "inverted";
    case UserStyle::kThickened: return "thickened";
    case UserStyle::kRgbInk: return "RGB ink";
    case UserStyle::kAlphaInk: return "alpha ink";
    case UserStyle::kJpeg: return "JPEG";
    case UserStyle::kPhoto: return "noisy photo";
  }
  return "?";
}

namespace user_style_detail {

// SplitMix64: a stream that is a pure function of its seed.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() { return splitmix64_next(state_); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * double(next() >> 11) * 0x1.0p-53; }
  int integer(int lo, int hi) { return lo + int(next() % uint64_t(hi - lo + 1)); }  // [lo, hi]
  double gaussian() {  // Irwin-Hall: the sum of 4 uniforms (16 bits each), scaled to unit variance
    const uint64_t bits = next();
    double sum = 0;
    for (int i = 0; i < 4; ++i) sum += double((bits >> (16 * i)) & 0xffff) * 0x1.0p-16 - 0.5;
    return sum * std::sqrt(3.0);
  }

 private:
  uint64_t state_;
};

// Ink coverage in [0, 1] over a canvas, row-major.
struct InkCanvas {
  int width = 0, height = 0;
  std::vector<float> ink;
};

// The digit scaled by `scale` as a pen would have drawn it: linear interpolation between pixel
// centres (zero outside) gives the shape, a steep ramp around half coverage gives strokes edges of
// a few pixels (plain interpolation would blur every edge over `scale` pixels).
inline std::vector<float> upscale(std::span<const uint8_t> mnist28, int scale) {
  constexpr float kPenLow = 0.35f, kPenRamp = 0.3f;
  const int n = 28 * scale;
  std::vector<int> i0(size_t(n), 0);
  std::vector<float> f(size_t(n), 0.0f);
  for (int o = 0; o < n; ++o) {
    const double u = (o + 0.5) / scale - 0.5;
    i0[size_t(o)] = int(std::floor(u));
    f[size_t(o)] = float(u - std::floor(u));
  }
  auto at = [&](int y, int x) {
    return y < 0 || y >= 28 || x < 0 || x >= 28 ? 0.0f : mnist28[size_t(y * 28 + x)] / 255.0f;
  };
  std::vector<float> out(size_t(n) * size_t(n));
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const int ya = i0[size_t(y)], xa = i0[size_t(x)];
      const float fy = f[size_t(y)], fx = f[size_t(x)];
      const float top = at(ya, xa) * (1 - fx) + at(ya, xa + 1) * fx;
      const float bottom = at(ya + 1, xa) * (1 - fx) + at(ya + 1, xa + 1) * fx;
      const float coverage = top * (1 - fy) + bottom * fy;
      out[size_t(y) * size_t(n) + size_t(x)] = std::clamp((coverage - kPenLow) / kPenRamp, 0.0f, 1.0f);
    }
  return out;
}

// Grayscale dilation by a disk of `radius` pixels (n x n image): the max over the disk's offsets.
inline std::vector<float> dilate(const std::vector<float>& in, int n, int radius) {
  std::vector<float> out(in.size(), 0.0f);
  for (int dy = -radius; dy <= radius; ++dy) {
    const int half = int(std::sqrt(double(radius * radius - dy * dy)));
    for (int y = std::max(0, -dy); y < std::min(n, n - dy); ++y) {
      const float* src = &in[size_t(y + dy) * size_t(n)];
      float* dst = &out[size_t(y) * size_t(n)];
      for (int dx = -half; dx <= half; ++dx)
        for (int x = std::max(0, -dx); x < std::min(n, n - dx); ++x) dst[x] = std::max(dst[x], src[x + dx]);
    }
  }
  return out;
}

// The digit (n x n coverage) pasted on a canvas with random margins of [lo, hi] pixels per side.
inline InkCanvas paste(const std::vector<float>& digit, int n, Random& random, int lo, int hi) {
  const int left = random.integer(lo, hi), right = random.integer(lo, hi);
  const int top = random.integer(lo, hi), bottom = random.integer(lo, hi);
  InkCanvas c{left + n + right, top + n + bottom, {}};
  c.ink.assign(size_t(c.width) * size_t(c.height), 0.0f);
  for (int y = 0; y < n; ++y)
    std::copy_n(&digit[size_t(y) * size_t(n)], n, &c.ink[size_t(y + top) * size_t(c.width) + size_t(left)]);
  return c;
}

inline uint8_t to_byte(double v) { return uint8_t(std::clamp(std::lround(v), 0L, 255L)); }

// Paper and ink colours mixed by coverage, `channels` 1 or 3.
inline std::vector<uint8_t> paint(const InkCanvas& c, std::array<double, 3> paper, std::array<double, 3> ink,
                                  int channels) {
  std::vector<uint8_t> pixels(c.ink.size() * size_t(channels));
  for (size_t i = 0; i < c.ink.size(); ++i)
    for (int k = 0; k < channels; ++k)
      pixels[i * size_t(channels) + size_t(k)] = to_byte(std::lerp(paper[size_t(k)], ink[size_t(k)], double(c.ink[i])));
  return pixels;
}

// A canvas export: the ink colour where anything was drawn, alpha = coverage, (0, 0, 0, 0) elsewhere.
inline std::vector<uint8_t> alpha_ink(const InkCanvas& c, uint8_t colour) {
  std::vector<uint8_t> pixels(c.ink.size() * 4, 0);
  for (size_t i = 0; i < c.ink.size(); ++i) {
    const uint8_t a = to_byte(255.0 * c.ink[i]);
    if (a == 0) continue;
    std::fill_n(&pixels[i * 4], 3, colour);
    pixels[i * 4 + 3] = a;
  }
  return pixels;
}

// A photo of the ink on paper: light falls off linearly in a random direction and a little
// towards the corners; ink absorbs most of it; sensor noise on top.
inline std::vector<uint8_t> photo(const InkCanvas& c, Random& random) {
  const double angle = random.uniform(0, 2 * std::numbers::pi), level = random.uniform(150, 200);
  const double slope = random.uniform(80, 120), vignette = random.uniform(10, 30), noise = random.uniform(5, 10);
  const std::array<double, 3> tint{1.0, random.uniform(0.95, 1.0), random.uniform(0.85, 0.95)};
  const double absorb = random.uniform(0.65, 0.8);
  std::vector<uint8_t> pixels(c.ink.size() * 3);
  for (int y = 0; y < c.height; ++y)
    for (int x = 0; x < c.width; ++x) {
      const double nx = 2.0 * x / c.width - 1, ny = 2.0 * y / c.height - 1;
      const double light = level + slope / 2 * (nx * std::cos(angle) + ny * std::sin(angle)) -
                           vignette * (nx * nx + ny * ny) / 2;
      const size_t i = size_t(y) * size_t(c.width) + size_t(x);
      const double seen = light * (1 - absorb * c.ink[i]);
      for (size_t k = 0; k < 3; ++k) pixels[i * 3 + k] = to_byte(seen * tint[k] + noise * random.gaussian());
    }
  return pixels;
}

// PNG, or JPEG of the given quality when jpeg_quality > 0.
inline std::vector<uint8_t> encode(const InkCanvas& c, const std::vector<uint8_t>& pixels, int channels,
                                   int jpeg_quality) {
  std::vector<uint8_t> file;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
  };
  const int ok = jpeg_quality > 0
                     ? stbi_write_jpg_to_func(append, &file, c.width, c.height, channels, pixels.data(), jpeg_quality)
                     : stbi_write_png_to_func(append, &file, c.width, c.height, channels, pixels.data(),
                                              c.width * channels);
  if (!ok) throw std::runtime_error("user_style_image: stb_image_write failed");
  return file;
}

}  // namespace user_style_detail

// The encoded file (PNG or JPEG) a user could hand over for this MNIST digit (28x28 bytes,
// light ink on black), in `style`; a pure function of its arguments.
inline std::vector<uint8_t> user_style_image(std::span<const uint8_t> mnist28, UserStyle style, uint32_t seed) {
  namespace d = user_style_detail;
  if (mnist28.size() != 28 * 28) throw std::invalid_argument("user_style_image: a digit is 28 x 28 bytes");
  d::Random random(uint64_t(seed) << 8 | uint64_t(style));
  constexpr int kScale = 10, kSide = 28 * kScale;
  constexpr std::array<double, 3> kBlack{0, 0, 0}, kWhite{255, 255, 255};

  if (style == UserStyle::kOffCentre) {
    const std::vector<float> digit(mnist28.begin(), mnist28.end());
    d::InkCanvas c = d::paste(digit, 28, random, 2, 40);
    for (float& v : c.ink) v /= 255;
    return d::encode(c, d::paint(c, kBlack, kWhite, 1), 1, 0);
  }
  std::vector<float> digit = d::upscale(mnist28, kScale);
  if (style == UserStyle::kThickened) digit = d::dilate(digit, kSide, random.integer(5, 9));
  const d::InkCanvas c = d::paste(digit, kSide, random, 8, 64);
  switch (style) {
    case UserStyle::kScaled: return d::encode(c, d::paint(c, kBlack, kWhite, 1), 1, 0);
    case UserStyle::kInverted:
    case UserStyle::kThickened: return d::encode(c, d::paint(c, kWhite, kBlack, 1), 1, 0);
    case UserStyle::kRgbInk: {
      const std::array<double, 3> ink{random.uniform(10, 40), random.uniform(20, 60), random.uniform(110, 170)};
      return d::encode(c, d::paint(c, {250, 244, 228}, ink, 3), 3, 0);
    }
    case UserStyle::kAlphaInk: return d::encode(c, d::alpha_ink(c, seed % 2 ? 255 : 0), 4, 0);
    case UserStyle::kJpeg: return d::encode(c, d::paint(c, kWhite, {20, 20, 20}, 3), 3, random.integer(60, 90));
    case UserStyle::kPhoto: return d::encode(c, d::photo(c, random), 3, 85);
    case UserStyle::kOffCentre: break;
  }
  throw std::invalid_argument("user_style_image: unknown style");
}

}  // namespace hdr::test

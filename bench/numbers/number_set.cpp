#include "bench/numbers/number_set.h"

#include <algorithm>
#include <cmath>

#include "engine/core/splitmix64.h"

namespace hdr::bench {
namespace {

constexpr int kMnistSide = 28;
constexpr double kScaleJitter = 0.15;  // each digit scaled by 1 +- this
constexpr int kBaselineJitter = 2;     // MNIST pixels up or down
constexpr int kMargin = 4;             // MNIST pixels of paper around the number
constexpr int kMaxApartGap = 6;        // MNIST pixels of blank beyond the first column

class Draw {
 public:
  Draw(uint64_t seed, int index) : state_(seed ^ (uint64_t(index) * 0xD1B54A32D192ED03ull)) {}
  int uniform(int lo, int hi) { return lo + int(splitmix64_next(state_) % uint64_t(hi - lo + 1)); }
  double unit() { return double(splitmix64_next(state_) >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// A gray raster, row-major.
struct Raster {
  int width = 0, height = 0;
  std::vector<uint8_t> v;
  uint8_t at(int x, int y) const { return v[size_t(y) * size_t(width) + size_t(x)]; }
};

// MNIST digit `i` cropped to its ink and resized by `scale` (bilinear).
Raster scaled_digit(const LabelledImages& set, int i, double scale) {
  const uint8_t* px = set.images.pixels.data() + size_t(i) * kMnistSide * kMnistSide;
  int x0 = kMnistSide, y0 = kMnistSide, x1 = 0, y1 = 0;
  for (int y = 0; y < kMnistSide; ++y)
    for (int x = 0; x < kMnistSide; ++x)
      if (px[y * kMnistSide + x]) x0 = std::min(x0, x), x1 = std::max(x1, x + 1), y0 = std::min(y0, y), y1 = y + 1;
  const int w = x1 - x0, h = y1 - y0;
  Raster out{std::max(1, int(std::lround(w * scale))), std::max(1, int(std::lround(h * scale))), {}};
  out.v.resize(size_t(out.width) * size_t(out.height));
  auto in = [&](int x, int y) {
    return x < 0 || y < 0 || x >= w || y >= h ? 0.0 : double(px[(y0 + y) * kMnistSide + x0 + x]);
  };
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const double u = (x + 0.5) * w / out.width - 0.5, v = (y + 0.5) * h / out.height - 0.5;
      const int iu = int(std::floor(u)), iv = int(std::floor(v));
      const double fu = u - iu, fv = v - iv;
      const double value = (1 - fv) * ((1 - fu) * in(iu, iv) + fu * in(iu + 1, iv)) +
                           fv * ((1 - fu) * in(iu, iv + 1) + fu * in(iu + 1, iv + 1));
      out.v[size_t(y) * size_t(out.width) + size_t(x)] = uint8_t(std::clamp(std::lround(value), 0L, 255L));
    }
  return out;
}

struct Placed {
  Raster digit;
  int top = 0;
};

// The leftmost x at which `d` (placed with its top at `top`) has no ink 8-adjacent to ink in
// `right_edge` (per canvas row, the rightmost ink column so far, or -1).
int first_clear_x(const Raster& d, int top, const std::vector<int>& right_edge) {
  int x = 0;
  for (int y = 0; y < d.height; ++y) {
    int left = -1;
    for (int c = 0; c < d.width && left < 0; ++c)
      if (d.at(c, y)) left = c;
    if (left < 0) continue;
    for (int r = top + y - 1; r <= top + y + 1; ++r)
      if (r >= 0 && r < int(right_edge.size()) && right_edge[size_t(r)] >= 0)
        x = std::max(x, right_edge[size_t(r)] - left + 2);
  }
  return x;
}

}  // namespace

const char* gap_name(GapKind kind) {
  switch (kind) {
    case GapKind::kApart: return "apart";
    case GapKind::kTouching: return "touching";
    case GapKind::kOverlapping: return "overlapping";
  }
  return "?";
}

NumberSample make_number(const LabelledImages& test_set, uint64_t seed, int index, const NumberSetOptions& options) {
  Draw draw(seed, index);
  NumberSample s;
  const int length = draw.uniform(options.min_digits, options.max_digits);
  s.gap = kGapKinds[size_t(draw.uniform(0, int(kGapKinds.size()) - 1))];
  s.size = options.sizes[size_t(draw.uniform(0, int(options.sizes.size()) - 1))];
  s.dark_ink = draw.uniform(0, 1) == 1;
  const int special = s.gap == GapKind::kApart ? -1 : draw.uniform(1, length - 1);  // the pair (special-1, special)

  std::vector<Placed> digits;
  int tallest = 0;
  for (int k = 0; k < length; ++k) {
    const int i = draw.uniform(0, test_set.count() - 1);
    s.text += char('0' + test_set.labels[size_t(i)]);
    const double scale = s.size * (1 + kScaleJitter * (2 * draw.unit() - 1));
    digits.push_back({scaled_digit(test_set, i, scale), 0});
    tallest = std::max(tallest, digits.back().digit.height);
  }
  const int jitter = kBaselineJitter * s.size, margin = kMargin * s.size;
  const int height = tallest + 2 * jitter + 2 * margin;
  std::vector<int> right_edge(size_t(height), -1);
  std::vector<std::pair<int, const Placed*>> at;  // x of each digit
  for (int k = 0; k < length; ++k) {
    Placed& p = digits[size_t(k)];
    p.top = margin + jitter + (tallest - p.digit.height) / 2 + draw.uniform(-jitter, jitter);
    int x = margin;
    if (k > 0) {
      x = first_clear_x(p.digit, p.top, right_edge);
      if (k == special && s.gap == GapKind::kTouching)
        x -= 1;
      else if (k == special)
        x -= 1 + s.size * draw.uniform(1, 3);
      else
        x += s.size * draw.uniform(0, kMaxApartGap - 1);
    }
    at.emplace_back(x, &p);
    for (int y = 0; y < p.digit.height; ++y)
      for (int c = p.digit.width - 1; c >= 0; --c)
        if (p.digit.at(c, y)) {
          right_edge[size_t(p.top + y)] = std::max(right_edge[size_t(p.top + y)], x + c);
          break;
        }
  }
  int width = 0;
  for (const auto& [x, p] : at) width = std::max(width, x + p->digit.width);
  width += margin;
  std::vector<uint8_t> canvas(size_t(width) * size_t(height), 0);
  for (const auto& [x, p] : at)
    for (int y = 0; y < p->digit.height; ++y)
      for (int c = 0; c < p->digit.width; ++c) {
        uint8_t& v = canvas[size_t(p->top + y) * size_t(width) + size_t(x + c)];
        v = std::max(v, p->digit.at(c, y));
      }
  if (s.dark_ink)
    for (uint8_t& v : canvas) v = uint8_t(255 - v);
  s.image = {width, height, 1, std::move(canvas)};
  return s;
}

void ReadingTally::add(const std::string& truth, const std::string& read, bool was_refused) {
  ++numbers;
  digits += int(truth.size());
  if (was_refused) {
    ++refused;
    return;
  }
  numbers_right += truth == read;
  miscounted += truth.size() != read.size();
  // Levenshtein distance, one row at a time.
  std::vector<int> row(read.size() + 1);
  for (size_t j = 0; j <= read.size(); ++j) row[j] = int(j);
  for (size_t i = 1; i <= truth.size(); ++i) {
    int diagonal = row[0];
    row[0] = int(i);
    for (size_t j = 1; j <= read.size(); ++j) {
      const int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (truth[i - 1] != read[j - 1])});
      diagonal = up;
    }
  }
  digits_right += std::max(0, int(truth.size()) - row[read.size()]);
}

}  // namespace hdr::bench

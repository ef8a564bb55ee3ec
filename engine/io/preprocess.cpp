// MNIST-style preprocessing of a user's image. The pipeline, in order:
//
//  1. Gray on a working canvas. Rec. 601 luma of RGB. An alpha channel that is not fully opaque
//     holds the ink of a canvas export (strokes on a transparent background): it is composited
//     over white or black, whichever contrasts with the ink's alpha-weighted mean luminance. An
//     image whose longer side is over kWorkingSide is area-averaged down by a whole factor in the
//     same pass: a digit ends up 20 pixels tall, so nothing is lost, and every later step has a
//     bounded cost (photos also lose noise).
//  2. Background. Paper is a smooth surface and ink a minority of pixels. The medians of a grid of
//     up to 8 x 8 cells see the paper wherever ink covers under half a cell; a quadratic surface
//     fitted to them, rejecting cells over 3 robust deviations (MAD) away, first on the outer
//     ring of cells and then on all, follows uneven lighting and, unlike a morphological opening,
//     never eats a thick stroke.
//  3. Ink. The noise sigma is 1.4826 MAD of the residuals (image - surface) in background cells.
//     Ink is the side of the residuals that exceeds 4 sigma by more in total (noise is symmetric,
//     ink is a one-sided tail): dark ink on light paper and light on dark alike. The ink image is
//     the residual beyond 4 sigma on that side, so ink is bright and paper 0; a clean image
//     (sigma 0) keeps every gray level, anti-aliased edges included. Dark ink is first divided
//     by the paper's relative brightness (flat-field), so a stroke in the shade is as strong as
//     one in the light.
//  4. Specks. 8-connected components of the ink with under 2% of the largest one's mass go; real
//     detached parts of a digit are larger. Nothing left, a strongest mark that is faint (under
//     kMinContrast or 6 sigma) or a largest component of a few pixels: no ink, an InputError.
//  5. Geometry, the way MNIST was made: crop to the ink's bounding box, resample so that the
//     longer side is `box` pixels keeping the aspect ratio (area averaging when shrinking, linear
//     interpolation when enlarging), then shift by whole pixels so that the centre of mass lands
//     where MNIST's does.
//  6. Contrast. The 95th percentile of the output's ink maps to 1, as in MNIST.
#include "engine/io/preprocess.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "engine/core/errors.h"
#include "engine/io/ink_components.h"

namespace hdr {
namespace {

constexpr int kWorkingSide = 512;       // longer side of the working canvas, at most
constexpr int kMaxGridCells = 8;        // background grid, per axis
constexpr int kMinCellSide = 4;         // pixels, so that a cell median means something
constexpr double kMadToSigma = 1.4826;  // a Gaussian's sigma from its median absolute deviation
constexpr float kNoiseSigmas = 4.0f;    // ink floor: 1 in 30,000 noise pixels passes it
constexpr float kMinStep = 0.5f / 255;  // under half a gray level is rounding, not ink
constexpr float kSpeckFraction = 0.02f;
constexpr float kMinContrast = 20.0f / 255;  // fainter marks are paper texture or JPEG ringing
constexpr float kMinSigmas = 6.0f;           // Gaussian noise's maximum over 512 x 512 pixels is ~4.6 sigma
constexpr int kMinInkPixels = 4;             // a smaller largest component is a speck of noise, not a digit
// MNIST's ink: the 95th percentile of its nonzero pixels is >= 0.988 in 99% of the digits.
constexpr double kInkPercentile = 0.95;

float luma(const uint8_t* p, int channels) {
  return channels >= 3 ? (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) * (1.0f / 255) : p[0] * (1.0f / 255);
}

// Step 1: gray in [0, 1], alpha composited, area-averaged down to at most kWorkingSide.
Plane working_gray(const DecodedImage& image, int factor) {
  const int w = image.width, h = image.height, n = image.channels;
  const size_t count = size_t(w) * size_t(h);
  const uint8_t* pixels = image.pixels.data();

  bool translucent = false;
  float paper = 0;  // what shows through transparent pixels
  if (n == 2 || n == 4) {
    double alpha = 0, ink = 0;
    for (size_t i = 0; i < count; ++i) {
      const uint8_t a = pixels[i * size_t(n) + size_t(n - 1)];
      translucent |= a != 255;
      alpha += a;
      ink += a * luma(pixels + i * size_t(n), n);
    }
    paper = ink < 0.5 * alpha ? 1.0f : 0.0f;  // dark ink goes on white, light ink on black
  }

  Plane out{(w + factor - 1) / factor, (h + factor - 1) / factor, {}};
  out.v.assign(size_t(out.width) * size_t(out.height), 0.0f);
  auto gray = [&](const uint8_t* p) {
    if (!translucent) return luma(p, n);
    const float a = p[n - 1] * (1.0f / 255);
    return a * luma(p, n) + (1 - a) * paper;
  };
  for (int y = 0; y < h; ++y) {
    float* acc = out.row(y / factor);
    const uint8_t* p = pixels + size_t(y) * size_t(w) * size_t(n);
    if (factor == 1) {  // the common case, without a division per pixel
      for (int x = 0; x < w; ++x, p += n) acc[x] = gray(p);
    } else {
      for (int x = 0; x < w; ++x, p += n) acc[x / factor] += gray(p);
    }
  }
  if (factor > 1) {  // edge blocks hold fewer pixels
    for (int by = 0; by < out.height; ++by)
      for (int bx = 0; bx < out.width; ++bx)
        out.row(by)[bx] /= float(std::min(factor, h - by * factor) * std::min(factor, w - bx * factor));
  }
  return out;
}

// Median of values (reordered), the mean of the middle two for an even count: symmetric, so that
// an image and its negative see mirrored statistics.
float median(std::vector<float>& values) {
  auto mid = values.begin() + std::ptrdiff_t(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  if (values.size() % 2) return *mid;
  return 0.5f * (*mid + *std::max_element(values.begin(), mid));
}

// c0 + c1 X + c2 Y + c3 X^2 + c4 XY + c5 Y^2, with X and Y running over [-1, 1] across the image
// (well conditioned normal equations).
struct Surface {
  std::array<double, 6> c{};
};

struct CellSample {
  double x, y;  // normalised centre
  float value;  // median
};

// Normal equations of the least-squares fit over the inlier cells, augmented with the right-hand
// side. The basis is ordered so that the leading 1, 3 or 6 terms are a constant, a plane, a quadric.
using NormalEquations = std::array<std::array<double, 7>, 6>;

NormalEquations normal_equations(const std::vector<CellSample>& cells, const std::vector<char>& inlier) {
  NormalEquations a{};
  for (size_t i = 0; i < cells.size(); ++i) {
    if (!inlier[i]) continue;
    const double x = cells[i].x, y = cells[i].y;
    const std::array<double, 7> basis{1, x, y, x * x, x * y, y * y, cells[i].value};
    for (size_t r = 0; r < 6; ++r)
      for (size_t c = 0; c < 7; ++c) a[r][c] += basis[r] * basis[c];
  }
  return a;
}

// Solves the leading `terms` equations (Gaussian elimination, partial pivoting); false when singular.
bool solve(NormalEquations a, int terms, Surface& surface) {
  const double tiny = 1e-9 * a[0][0];
  for (int col = 0; col < terms; ++col) {
    int pivot = col;
    for (int r = col + 1; r < terms; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    if (std::abs(a[pivot][col]) <= tiny) return false;
    std::swap(a[col], a[pivot]);
    for (int r = 0; r < terms; ++r) {
      if (r == col) continue;
      const double f = a[r][col] / a[col][col];
      for (int c = col; c < terms; ++c) a[r][c] -= f * a[col][c];
      a[r][6] -= f * a[col][6];
    }
  }
  surface = {};
  for (int r = 0; r < terms; ++r) surface.c[size_t(r)] = a[r][6] / a[r][r];
  return true;
}

// The richest surface the inliers support: a quadric needs cells spread over the image.
Surface fit_surface(const std::vector<CellSample>& cells, const std::vector<char>& inlier) {
  const NormalEquations a = normal_equations(cells, inlier);
  Surface surface;
  for (const auto& [terms, needed] : {std::pair{6, 9}, std::pair{3, 4}, std::pair{1, 1}})
    if (a[0][0] >= needed && solve(a, terms, surface)) return surface;
  return surface;
}

double surface_at(const Surface& s, double x, double y) {
  return s.c[0] + s.c[1] * x + s.c[2] * y + s.c[3] * x * x + s.c[4] * x * y + s.c[5] * y * y;
}

// The cell grid over a plane: gx x gy cells, cell i spanning [i * w / gx, (i + 1) * w / gx).
struct Grid {
  int gx, gy;
  explicit Grid(const Plane& p)
      : gx(std::clamp(p.width / kMinCellSide, 1, kMaxGridCells)),
        gy(std::clamp(p.height / kMinCellSide, 1, kMaxGridCells)) {}
};

struct Background {
  Surface surface;
  std::vector<char> inlier;  // per cell: holds paper
};

// Step 2: the robust surface fit over the cell medians.
Background fit_background(const Plane& gray, const Grid& grid) {
  std::vector<CellSample> cells;
  std::vector<float> scratch;
  for (int cy = 0; cy < grid.gy; ++cy) {
    const int y0 = cy * gray.height / grid.gy, y1 = (cy + 1) * gray.height / grid.gy;
    for (int cx = 0; cx < grid.gx; ++cx) {
      const int x0 = cx * gray.width / grid.gx, x1 = (cx + 1) * gray.width / grid.gx;
      scratch.clear();
      for (int y = y0; y < y1; ++y) scratch.insert(scratch.end(), gray.row(y) + x0, gray.row(y) + x1);
      cells.push_back({(x0 + x1) / double(gray.width) - 1, (y0 + y1) / double(gray.height) - 1, median(scratch)});
    }
  }

  // Rounds of: residuals, a limit of 3 robust deviations, a refit to the cells within it, until the
  // inliers settle. The first rounds look at the outer ring of cells only, where a digit rarely
  // is: starting from all cells lets the ink bend a steep lighting gradient's fit and then hide
  // inside its spread.
  std::vector<char> ring(cells.size()), all(cells.size(), 1);
  for (int cy = 0; cy < grid.gy; ++cy)
    for (int cx = 0; cx < grid.gx; ++cx)
      ring[size_t(cy * grid.gx + cx)] = cx == 0 || cy == 0 || cx == grid.gx - 1 || cy == grid.gy - 1;
  Background bg{{}, std::vector<char>(cells.size(), 0)};
  scratch.clear();
  for (size_t i = 0; i < cells.size(); ++i)
    if (ring[i]) scratch.push_back(cells[i].value);
  bg.surface.c[0] = median(scratch);
  std::vector<float> residual(cells.size());
  auto refine = [&](const std::vector<char>& candidate, int rounds) {
    for (int round = 0; round < rounds; ++round) {
      scratch.clear();
      for (size_t i = 0; i < cells.size(); ++i) {
        residual[i] = std::abs(cells[i].value - float(surface_at(bg.surface, cells[i].x, cells[i].y)));
        if (candidate[i]) scratch.push_back(residual[i]);
      }
      // Cells within a couple of gray levels are paper however tight the spread (JPEG, rounding).
      const float limit = std::max(float(3 * kMadToSigma) * median(scratch), 2.0f / 255);
      bool changed = false;
      for (size_t i = 0; i < cells.size(); ++i) {
        const char inlier = candidate[i] && residual[i] <= limit;
        changed |= inlier != bg.inlier[i];
        bg.inlier[i] = inlier;
      }
      if (!changed) return;  // the surface already fits these cells
      bg.surface = fit_surface(cells, bg.inlier);
    }
  };
  refine(ring, 2);
  refine(all, 3);
  return bg;
}

// The fitted surface at every pixel, evaluated row by row.
Plane evaluate_surface(int width, int height, const Surface& s) {
  Plane out{width, height, std::vector<float>(size_t(width) * size_t(height))};
  std::vector<float> nx(static_cast<size_t>(width));
  for (int x = 0; x < width; ++x) nx[size_t(x)] = float((2 * x + 1) / double(width) - 1);
  for (int y = 0; y < height; ++y) {
    const double ny = (2 * y + 1) / double(height) - 1;
    const auto c0 = float(s.c[0] + s.c[2] * ny + s.c[5] * ny * ny), c1 = float(s.c[1] + s.c[4] * ny);
    const auto c2 = float(s.c[3]);
    for (int x = 0; x < width; ++x) {
      const float u = nx[size_t(x)];
      out.row(y)[x] = c0 + c1 * u + c2 * u * u;
    }
  }
  return out;
}

// Noise sigma from the residuals of the paper cells.
float noise_sigma(const Plane& r, const Grid& grid, const std::vector<char>& inlier) {
  std::vector<float> magnitudes;
  for (int cy = 0; cy < grid.gy; ++cy) {
    const int y0 = cy * r.height / grid.gy, y1 = (cy + 1) * r.height / grid.gy;
    for (int cx = 0; cx < grid.gx; ++cx) {
      if (!inlier[size_t(cy * grid.gx + cx)]) continue;
      const int x0 = cx * r.width / grid.gx, x1 = (cx + 1) * r.width / grid.gx;
      for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) magnitudes.push_back(std::abs(r.row(y)[x]));
    }
  }
  return magnitudes.empty() ? 0.0f : float(kMadToSigma) * median(magnitudes);
}

// Step 3: whether the ink is darker than the paper: the side where the residuals' tail beyond the
// noise floor is heavier.
bool ink_is_dark(const Plane& r, float floor) {
  double bright = 0, dark = 0;
  for (float v : r.v) {
    if (v - floor > kMinStep) bright += v - floor;
    if (-v - floor > kMinStep) dark += -v - floor;
  }
  return dark > bright;
}

// Dark ink on paper is seen by reflected light: its contrast to the paper scales with the light
// falling there. Dividing the residual by the paper's brightness (relative to its mean) gives a
// stroke the same ink value in the shade as in the light (flat-field correction). Uniform paper
// is left as it is. Light ink on a dark ground is left alone: its ground says little about the
// light, and dividing by a dark value would amplify noise.
void flatten_lighting(Plane& r, const Plane& surface) {
  double mean = 0;
  for (float b : surface.v) mean += b;
  mean /= double(surface.v.size());
  const auto [lo, hi] = std::minmax_element(surface.v.begin(), surface.v.end());
  if (*hi - *lo <= 0.02 * mean) return;    // evenly lit: keep the gray levels exactly
  const float floor = float(mean) * 0.1f;  // paper in deep shade: no more than 10x gain
  for (size_t i = 0; i < r.v.size(); ++i) r.v[i] *= float(mean) / std::max(surface.v[i], floor);
}

// Residual -> ink (bright, paper 0): the part beyond the noise floor on the ink's side.
void extract_ink(Plane& r, bool dark, float floor) {
  const float sign = dark ? -1.0f : 1.0f;
  for (float& v : r.v) {
    const float ink = sign * v - floor;
    v = ink > kMinStep ? ink : 0.0f;
  }
}

struct InkExtent {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // bounding box, [x0, x1) x [y0, y1)
  int largest_pixels = 0;              // of the largest component
  float peak = 0;                      // strongest ink kept
};

// Step 4: zeroes the components under kSpeckFraction of the largest one's mass.
InkExtent drop_specks(Plane& ink) {
  const InkComponents components = label_components(ink.v, ink.width, ink.height);
  InkExtent extent{ink.width, ink.height, 0, 0, 0, 0};
  if (components.list.empty()) return extent;
  const InkComponent& largest = *std::max_element(
      components.list.begin(), components.list.end(),
      [](const InkComponent& a, const InkComponent& b) { return a.mass < b.mass; });
  extent.largest_pixels = largest.pixels;
  const double keep = kSpeckFraction * largest.mass;
  for (size_t i = 0; i < ink.v.size(); ++i) {
    const int32_t id = components.label[i];
    if (id == InkComponents::kPaper) continue;
    if (components.list[size_t(id)].mass < keep) {
      ink.v[i] = 0;
      continue;
    }
    extent.peak = std::max(extent.peak, ink.v[i]);
  }
  for (const InkComponent& c : components.list)
    if (c.mass >= keep) {
      extent.x0 = std::min(extent.x0, c.x0), extent.x1 = std::max(extent.x1, c.x1);
      extent.y0 = std::min(extent.y0, c.y0), extent.y1 = std::max(extent.y1, c.y1);
    }
  return extent;
}

// The bounding box of the nonzero values.
InkExtent ink_extent(const Plane& ink) {
  InkExtent e{ink.width, ink.height, 0, 0, 0, 0};
  for (int y = 0; y < ink.height; ++y)
    for (int x = 0; x < ink.width; ++x)
      if (ink.row(y)[x] > 0) {
        e.x0 = std::min(e.x0, x), e.x1 = std::max(e.x1, x + 1);
        e.y0 = std::min(e.y0, y), e.y1 = std::max(e.y1, y + 1);
      }
  return e;
}

// 1-D resampling: output pixel j is the sum of weight[k] * in[index[k]] over its `taps` entries,
// k = j * taps .. (j + 1) * taps - 1. The input's [0, n) maps to [offset, offset + n * scale).
struct Resampler {
  int taps = 0;
  std::vector<int> index;
  std::vector<float> weight;
};

Resampler make_resampler(int n, int out, double scale, double offset) {
  Resampler r;
  r.taps = scale <= 1 ? int(std::ceil(1 / scale)) + 1 : 2;
  r.index.resize(size_t(out) * size_t(r.taps));
  r.weight.resize(r.index.size());
  for (int j = 0; j < out; ++j) {
    for (int t = 0; t < r.taps; ++t) {
      int i;
      double w;
      if (scale <= 1) {  // area average: the overlap of input pixel i with output pixel j
        const double lo = (j - offset) / scale, hi = (j + 1 - offset) / scale;
        i = int(std::floor(lo)) + t;
        w = std::max(0.0, std::min(hi, i + 1.0) - std::max(lo, double(i))) * scale;
      } else {  // linear interpolation between the input pixel centres around j's centre
        const double u = (j + 0.5 - offset) / scale - 0.5;
        const double f = u - std::floor(u);
        i = int(std::floor(u)) + t;
        w = t == 0 ? 1 - f : f;
      }
      const bool inside = i >= 0 && i < n;  // outside the crop there is no ink
      r.index[size_t(j * r.taps + t)] = inside ? i : 0;
      r.weight[size_t(j * r.taps + t)] = inside ? float(w) : 0.0f;
    }
  }
  return r;
}

// Step 5: crop, resample so that the longer side is `box`, place by the centre of mass.
std::vector<float> place_digit(const Plane& ink, const InkExtent& e, const DigitGeometry& g) {
  const int w = e.x1 - e.x0, h = e.y1 - e.y0;
  const double scale = g.box / double(std::max(w, h));
  // Each side covers whole output pixels, the shorter one centred in them.
  auto span = [&](int n) { return std::max(1, int(std::ceil(n * scale - 1e-6))); };
  const int ow = span(w), oh = span(h);
  const Resampler rx = make_resampler(w, ow, scale, (ow - w * scale) / 2);
  const Resampler ry = make_resampler(h, oh, scale, (oh - h * scale) / 2);

  std::vector<float> rows(size_t(h) * size_t(ow));  // horizontal pass over the crop's rows
  for (int y = 0; y < h; ++y) {
    const float* in = ink.row(e.y0 + y) + e.x0;
    for (int j = 0; j < ow; ++j) {
      float sum = 0;
      for (size_t t = size_t(j * rx.taps); t < size_t((j + 1) * rx.taps); ++t) sum += rx.weight[t] * in[rx.index[t]];
      rows[size_t(y) * size_t(ow) + size_t(j)] = sum;
    }
  }
  std::vector<float> digit(size_t(oh) * size_t(ow), 0.0f);  // vertical pass
  double mass = 0, mx = 0, my = 0;
  for (int j = 0; j < oh; ++j)
    for (int t = 0; t < ry.taps; ++t) {
      const float wt = ry.weight[size_t(j * ry.taps + t)];
      const float* in = &rows[size_t(ry.index[size_t(j * ry.taps + t)]) * size_t(ow)];
      for (int x = 0; x < ow; ++x) digit[size_t(j) * size_t(ow) + size_t(x)] += wt * in[x];
    }
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      const float v = digit[size_t(y) * size_t(ow) + size_t(x)];
      mass += v, mx += v * x, my += v * y;
    }

  // MNIST's mean centre of mass, measured over its 60,000 training digits in pixel-index
  // coordinates: (14.007, 13.996), i.e. side / 2. MNIST shifted by whole pixels (each digit's
  // centre lies within half a pixel of it, standard deviation 0.29), and so do we: the box keeps
  // its sharp edges. The clamp keeps the box inside the image.
  const double target = g.side / 2.0;
  const int dx = std::clamp(int(std::lround(target - mx / mass)), 0, g.side - ow);
  const int dy = std::clamp(int(std::lround(target - my / mass)), 0, g.side - oh);
  std::vector<float> out(size_t(g.side) * size_t(g.side), 0.0f);
  for (int y = 0; y < oh; ++y)
    std::copy_n(&digit[size_t(y) * size_t(ow)], ow, &out[size_t(y + dy) * size_t(g.side) + size_t(dx)]);
  return out;
}

// Step 6: the ink's kInkPercentile maps to 1.
void stretch_contrast(std::vector<float>& image) {
  std::vector<float> ink;
  for (float v : image)
    if (v > 0) ink.push_back(v);
  if (ink.empty()) return;
  auto at = ink.begin() + std::ptrdiff_t(double(ink.size() - 1) * kInkPercentile);
  std::nth_element(ink.begin(), at, ink.end());
  const float gain = 1 / *at;
  for (float& v : image) v = std::min(1.0f, v * gain);
}

}  // namespace

InkImage find_ink(const DecodedImage& image, const std::string& source) {
  if (image.width < 1 || image.height < 1 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != size_t(image.width) * size_t(image.height) * size_t(image.channels))
    throw std::invalid_argument(fmt::format("find_ink: {}: {} bytes for {} x {} x {}", source, image.pixels.size(),
                                            image.width, image.height, image.channels));
  const int factor = (std::max(image.width, image.height) + kWorkingSide - 1) / kWorkingSide;
  const Plane gray = working_gray(image, factor);
  const Grid grid(gray);
  const Background bg = fit_background(gray, grid);
  const Plane surface = evaluate_surface(gray.width, gray.height, bg.surface);
  InkImage out{{gray.width, gray.height, std::vector<float>(gray.v.size())}, factor};
  Plane& ink = out.ink;
  for (size_t i = 0; i < ink.v.size(); ++i) ink.v[i] = gray.v[i] - surface.v[i];
  const float sigma = noise_sigma(ink, grid, bg.inlier);
  const bool dark = ink_is_dark(ink, kNoiseSigmas * sigma);
  if (dark) flatten_lighting(ink, surface);
  extract_ink(ink, dark, kNoiseSigmas * sigma);
  const InkExtent extent = drop_specks(ink);
  const float contrast = extent.peak + kNoiseSigmas * sigma;
  if (extent.largest_pixels < kMinInkPixels || contrast < std::max(kMinContrast, kMinSigmas * sigma))
    throw InputError(fmt::format("{}: no ink found (the image is blank, uniform or only noise)", source));
  return out;
}

std::vector<float> digit_from_ink(const Plane& ink, DigitGeometry geometry) {
  if (geometry.box < 1 || geometry.side < geometry.box)
    throw std::invalid_argument(
        fmt::format("digit_from_ink: a {} pixel box in a {} pixel side", geometry.box, geometry.side));
  const InkExtent extent = ink_extent(ink);
  if (extent.x1 <= extent.x0) throw std::invalid_argument("digit_from_ink: a plane without ink");
  std::vector<float> out = place_digit(ink, extent, geometry);
  stretch_contrast(out);
  return out;
}

std::vector<float> mnist_style(const DecodedImage& image, const std::string& source, DigitGeometry geometry) {
  if (geometry.box < 1 || geometry.side < geometry.box)
    throw std::invalid_argument(
        fmt::format("mnist_style: a {} pixel box in a {} pixel side", geometry.box, geometry.side));
  return digit_from_ink(find_ink(image, source).ink, geometry);
}

std::vector<float> preprocess_image(std::span<const uint8_t> bytes, const std::string& source, DigitGeometry geometry,
                                    const ImageLimits& limits) {
  return mnist_style(decode_image(bytes, source, limits), source, geometry);
}

std::vector<uint8_t> to_bytes(const std::vector<float>& image) {
  std::vector<uint8_t> bytes(image.size());
  for (size_t i = 0; i < image.size(); ++i) bytes[i] = uint8_t(std::lround(std::clamp(image[i], 0.0f, 1.0f) * 255));
  return bytes;
}

}  // namespace hdr

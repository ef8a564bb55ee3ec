#include "tools/report/charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "engine/io/image_io.h"
#include "tools/report/svg.h"

namespace hdr::report {
namespace {

constexpr std::array<std::string_view, 10> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr std::string_view kRight = "#2ca02c", kWrong = "#d62728";

// A value axis: its range, tick positions and labels; linear, or base-10 logarithmic.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;
  std::vector<std::string> labels;

  double fraction(double v) const {
    if (log) return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    return (v - lo) / (hi - lo);
  }
};

// Round ticks (1, 2 or 5 times a power of ten) covering [lo, hi], about five of them; at least
// `min_step` apart (1 for epochs).
Axis linear_axis(double lo, double hi, double min_step = 0) {
  if (!(hi > lo)) {  // one value (or none): a range around it
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.5;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / 5;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  const double normalised = raw / magnitude;
  double step = (normalised < 1.5 ? 1 : normalised < 3 ? 2 : normalised < 7 ? 5 : 10) * magnitude;
  step = std::max(step, min_step);
  Axis a;
  a.lo = std::floor(lo / step + 1e-9) * step;
  a.hi = std::ceil(hi / step - 1e-9) * step;
  const int decimals = std::max(0, -int(std::floor(std::log10(step) + 1e-9)));
  for (double t = a.lo; t <= a.hi + step * 1e-6; t += step) {
    a.ticks.push_back(t);
    a.labels.push_back(fmt::format("{:.{}f}", std::abs(t) < step * 1e-6 ? 0.0 : t, decimals));
  }
  return a;
}

// Ends the axis at `top` (a value the data does not exceed), dropping the ticks beyond it.
void cap(Axis& a, double top) {
  while (!a.ticks.empty() && a.ticks.back() > top + 1e-9) {
    a.ticks.pop_back();
    a.labels.pop_back();
  }
  a.hi = top;
}

// Powers of ten covering [lo, hi] (both > 0), labelled 1e-3 style.
Axis log_axis(double lo, double hi) {
  Axis a;
  a.log = true;
  a.lo = std::pow(10, std::floor(std::log10(lo) + 1e-9));
  a.hi = std::pow(10, std::ceil(std::log10(hi) - 1e-9));
  for (int e = int(std::lround(std::log10(a.lo))); e <= int(std::lround(std::log10(a.hi))); ++e) {
    a.ticks.push_back(std::pow(10, e));
    a.labels.push_back(fmt::format("1e{}", e));
  }
  return a;
}

std::pair<double, double> range_of(const std::vector<const Series*>& series, bool use_x) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series* s : series)
    for (double v : use_x ? s->x : s->y)
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  if (lo > hi) return {0, 1};
  return {lo, hi};
}

// The plot area of a line chart and its value-to-pixel mapping.
struct Frame {
  double left = 64, top = 40, width = 0, height = 0;
  Axis x, y;
  double px(double v) const { return left + x.fraction(v) * width; }
  double py(const Axis& axis, double v) const { return top + height - axis.fraction(v) * height; }
};

void draw_axes(Svg& svg, const Frame& f, const LineChart& chart) {
  const TextStyle tick_left{.size = 11, .anchor = "end", .fill = "#444"};
  const TextStyle tick_below{.size = 11, .anchor = "middle", .fill = "#444"};
  for (size_t i = 0; i < f.y.ticks.size(); ++i) {
    const double y = f.py(f.y, f.y.ticks[i]);
    svg.line(f.left, y, f.left + f.width, y, Stroke{.color = "#e5e5e5"});
    svg.text(f.left - 6, y + 4, f.y.labels[i], tick_left);
  }
  for (size_t i = 0; i < f.x.ticks.size(); ++i)
    svg.text(f.px(f.x.ticks[i]), f.top + f.height + 16, f.x.labels[i], tick_below);
  svg.line(f.left, f.top + f.height, f.left + f.width, f.top + f.height, Stroke{.color = "#888"});
  svg.line(f.left, f.top, f.left, f.top + f.height, Stroke{.color = "#888"});
  svg.text(f.left + f.width / 2, 22, chart.title, TextStyle{.size = 15, .anchor = "middle", .bold = true});
  svg.text(f.left + f.width / 2, f.top + f.height + 34, chart.x_label, TextStyle{.size = 12, .anchor = "middle"});
  svg.text(16, f.top + f.height / 2, chart.y_label, TextStyle{.size = 12, .anchor = "middle", .rotate = -90});
}

void draw_series(Svg& svg, const Frame& f, const Axis& axis, const Series& s) {
  Points points;
  for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
    if (std::isfinite(s.y[i]) && (!axis.log || s.y[i] > 0)) points.emplace_back(f.px(s.x[i]), f.py(axis, s.y[i]));
  svg.polyline(points, Stroke{.color = s.color, .width = 2, .dash = s.dash});
  if (points.size() <= 40)
    for (const auto& [x, y] : points) svg.circle(x, y, 2.5, s.color);
}

void draw_legend(Svg& svg, const LineChart& chart, double y) {
  std::vector<const Series*> all;
  for (const Series& s : chart.left) all.push_back(&s);
  if (chart.right) all.push_back(&*chart.right);
  double x = 64;
  for (const Series* s : all) {
    svg.line(x, y - 4, x + 22, y - 4, Stroke{.color = s->color, .width = 2, .dash = s->dash});
    svg.text(x + 27, y, s->name, TextStyle{.size = 11});
    x += 36 + 6.5 * double(s->name.size());
  }
}

}  // namespace

std::string_view series_color(size_t index) { return kPalette[index % kPalette.size()]; }

std::string render_line_chart(const LineChart& chart) {
  std::vector<const Series*> left;
  for (const Series& s : chart.left) left.push_back(&s);
  std::vector<const Series*> every = left;
  if (chart.right) every.push_back(&*chart.right);

  const double kWidth = 680, kHeight = 380;
  Frame f;
  f.width = kWidth - f.left - (chart.right ? 78 : 24);
  f.height = kHeight - f.top - 78;
  const auto [x_lo, x_hi] = range_of(every, true);
  f.x = linear_axis(x_lo, x_hi, 1);
  const auto [y_lo, y_hi] = range_of(left, false);
  f.y = linear_axis(y_lo, y_hi);
  if (f.y.hi > chart.y_max && y_hi <= chart.y_max) cap(f.y, chart.y_max);

  Svg svg(kWidth, kHeight, chart.title);
  draw_axes(svg, f, chart);
  for (size_t i = 0; i < chart.markers.size(); ++i) {
    const Marker& m = chart.markers[i];
    const double x = f.px(m.x);
    svg.line(x, f.top, x, f.top + f.height, Stroke{.color = m.color, .width = 1.5, .dash = "5 4"});
    // Labels stacked (two markers may be an epoch apart) and kept inside the plot area.
    const bool near_right = x > f.left + 0.7 * f.width;
    svg.text(near_right ? x - 4 : x + 4, f.top + 12 + 14 * double(i), m.label,
             TextStyle{.size = 11, .anchor = near_right ? "end" : "start", .fill = m.color});
  }
  for (const Series* s : left) draw_series(svg, f, f.y, *s);
  if (chart.right) {
    const auto [r_lo, r_hi] = range_of({&*chart.right}, false);
    const Axis right = r_lo > 0 && r_hi / r_lo > 10 ? log_axis(r_lo, r_hi) : linear_axis(0, r_hi > 0 ? r_hi * 1.1 : 1);
    const double x = f.left + f.width;
    svg.line(x, f.top, x, f.top + f.height, Stroke{.color = "#888"});
    for (size_t i = 0; i < right.ticks.size(); ++i)
      svg.text(x + 6, f.py(right, right.ticks[i]) + 4, right.labels[i],
               TextStyle{.size = 11, .fill = chart.right->color});
    svg.text(kWidth - 12, f.top + f.height / 2, chart.right_label,
             TextStyle{.size = 12, .anchor = "middle", .fill = chart.right->color, .rotate = 90});
    draw_series(svg, f, right, *chart.right);
  }
  draw_legend(svg, chart, kHeight - 14);
  return std::move(svg).finish();
}

std::string render_confusion_matrix(std::span<const int64_t> confusion, int classes, std::string_view title) {
  if (classes < 1 || confusion.size() != size_t(classes) * size_t(classes))
    throw std::invalid_argument("render_confusion_matrix: expected classes x classes counts");
  const double cell = 44, left = 70, top = 70;
  Svg svg(left + cell * classes + 20, top + cell * classes + 20, title);
  svg.text(left + cell * classes / 2, 22, title, TextStyle{.size = 15, .anchor = "middle", .bold = true});
  svg.text(left + cell * classes / 2, 46, "predicted", TextStyle{.size = 12, .anchor = "middle"});
  svg.text(18, top + cell * classes / 2, "true", TextStyle{.size = 12, .anchor = "middle", .rotate = -90});
  for (int t = 0; t < classes; ++t) {
    int64_t row = 0;
    for (int p = 0; p < classes; ++p) row += confusion[size_t(t) * classes + p];
    svg.text(left - 10, top + cell * (t + 0.5) + 5, std::to_string(t),
             TextStyle{.size = 13, .anchor = "end", .bold = true});
    svg.text(left + cell * (t + 0.5), top - 8, std::to_string(t),
             TextStyle{.size = 13, .anchor = "middle", .bold = true});
    for (int p = 0; p < classes; ++p) {
      const int64_t count = confusion[size_t(t) * classes + p];
      const double share = row ? double(count) / double(row) : 0.0;
      // Errors are rare (a few per thousand): a square root makes them visible next to the
      // diagonal's ~99%.
      const double shade = t == p ? share : std::min(1.0, std::sqrt(share * 20));
      const int fade = int(std::lround(255 * (1 - 0.85 * shade)));
      const std::string fill = t == p ? fmt::format("rgb({},{},255)", fade, fade)
                                      : fmt::format("rgb(255,{},{})", fade, fade);
      const double x = left + cell * p, y = top + cell * t;
      const Stroke grid{.color = "#ddd"};
      svg.rect(x, y, cell, cell, fill, &grid);
      if (count > 0)
        svg.text(x + cell / 2, y + cell / 2 + 4, std::to_string(count),
                 TextStyle{.size = 11, .anchor = "middle", .fill = shade > 0.6 ? "#fff" : "#222"});
      svg.tooltip(x, y, cell, cell,
                  fmt::format("true {}, predicted {}: {} images ({:.2f}% of the {}s)", t, p, count, 100 * share, t));
    }
  }
  return std::move(svg).finish();
}

std::string render_sample_grid(std::span<const DigitSample> samples, int columns, std::string_view title) {
  const double cell_w = 116, cell_h = 128, top = 36;
  const int rows = (int(samples.size()) + columns - 1) / columns;
  Svg svg(cell_w * columns + 8, top + cell_h * std::max(rows, 1) + 8, title);
  svg.text(8, 22, title, TextStyle{.size = 15, .bold = true});
  for (size_t i = 0; i < samples.size(); ++i) {
    const DigitSample& s = samples[i];
    const double x = 4 + cell_w * double(i % size_t(columns)), y = top + cell_h * double(i / size_t(columns));
    const bool wrong = s.label != s.predicted;
    const Stroke frame{.color = wrong ? kWrong : "#ddd", .width = wrong ? 2.0 : 1.0};
    svg.rect(x + 2, y + 2, cell_w - 4, cell_h - 4, wrong ? "#fdecea" : "#fafafa", &frame);
    const size_t classes = s.probabilities.size();
    const float p = s.predicted >= 0 && size_t(s.predicted) < classes ? s.probabilities[size_t(s.predicted)] : 0.0f;
    svg.text(x + cell_w / 2, y + 17, fmt::format("true {} \u2192 {} ({:.0f}%)", s.label, s.predicted, 100 * p),
             TextStyle{.size = 11, .anchor = "middle", .fill = wrong ? kWrong : "#222", .bold = wrong});
    svg.png(x + cell_w / 2 - 28, y + 22, 56, 56, encode_png(s.pixels, s.width, s.height));
    const double bar_w = (cell_w - 16) / double(std::max<size_t>(classes, 1)), base = y + 112;
    for (size_t c = 0; c < classes; ++c) {
      const double bx = x + 8 + bar_w * double(c), h = 28 * double(std::clamp(s.probabilities[c], 0.0f, 1.0f));
      const std::string_view color = int(c) == s.label ? kRight : int(c) == s.predicted ? kWrong : "#999";
      svg.rect(bx + 1, base - h, bar_w - 2, std::max(h, 0.5), color);
      svg.text(bx + bar_w / 2, base + 10, std::to_string(c), TextStyle{.size = 8, .anchor = "middle", .fill = "#666"});
    }
  }
  return std::move(svg).finish();
}

std::vector<uint8_t> sample_grid_png(std::span<const DigitSample> samples, int columns) {
  if (samples.empty()) throw std::invalid_argument("sample_grid_png: no samples");
  const int scale = 2, frame = 2, h = samples[0].height * scale, w = samples[0].width * scale;
  const int cell_h = h + 2 * frame, cell_w = w + 2 * frame;
  const int rows = (int(samples.size()) + columns - 1) / columns;
  const int width = cell_w * columns, height = cell_h * rows;
  std::vector<uint8_t> rgb(size_t(width) * height * 3, 40);  // dark gray between cells
  for (size_t i = 0; i < samples.size(); ++i) {
    const DigitSample& s = samples[i];
    if (s.height * scale != h || s.width * scale != w)
      throw std::invalid_argument("sample_grid_png: digits differ in size");
    const int x0 = cell_w * int(i % size_t(columns)), y0 = cell_h * int(i / size_t(columns));
    const bool wrong = s.label != s.predicted;
    for (int y = 0; y < cell_h; ++y)
      for (int x = 0; x < cell_w; ++x) {
        uint8_t* px = &rgb[(size_t(y0 + y) * width + size_t(x0 + x)) * 3];
        const bool border = y < frame || x < frame || y >= cell_h - frame || x >= cell_w - frame;
        if (border) {
          if (wrong) px[0] = 220, px[1] = 40, px[2] = 40;
          continue;
        }
        const uint8_t v = s.pixels[size_t((y - frame) / scale) * s.width + size_t((x - frame) / scale)];
        px[0] = px[1] = px[2] = v;
      }
  }
  return encode_png(rgb, width, height, 3);
}

}  // namespace hdr::report

// The report's charts, each rendered to one SVG string (tools/report/svg.h) that is both written
// as a file and inlined into report.html: training curves with the learning rate on a second
// axis, the confusion matrix as a heat map, and grids of digits with their predicted
// probabilities (also as a plain PNG grid).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hdr::report {

// Ten distinguishable colours (Tableau 10), for the series of a chart.
std::string_view series_color(size_t index);

struct Series {
  std::string name;
  std::vector<double> x, y;
  std::string_view color;
  std::string_view dash = {};  // "" solid, e.g. "6 4" dashed
};

struct Marker {  // a vertical line at x with a label (best epoch, early stop)
  double x = 0;
  std::string label;
  std::string_view color = "#555";
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> left;     // against the left axis
  std::optional<Series> right;  // against the right axis (log scale when it spans over 10x)
  std::string right_label;
  std::vector<Marker> markers;
  double y_max = INFINITY;  // the left axis ends here at the most (1 for accuracy)
};

std::string render_line_chart(const LineChart& chart);

// Heat map of a classes x classes confusion matrix (row = true label) with the count in every
// non-empty cell; colour by the share of the row (blue on the diagonal, red off it).
std::string render_confusion_matrix(std::span<const int64_t> confusion, int classes, std::string_view title);

struct DigitSample {
  std::span<const uint8_t> pixels;  // height x width, 0 = background
  int height = 0, width = 0;
  int label = 0, predicted = 0;
  std::span<const float> probabilities;  // one per class
};

// Cells of `columns` per row: the digit, "true -> predicted" (wrong ones in red) and a bar per
// class of its probabilities.
std::string render_sample_grid(std::span<const DigitSample> samples, int columns, std::string_view title);

// The same digits as an RGB PNG, each scaled 2x in a frame: red when the prediction is wrong.
std::vector<uint8_t> sample_grid_png(std::span<const DigitSample> samples, int columns);

}  // namespace hdr::report

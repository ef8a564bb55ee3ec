// Connected components of an ink image (8-connected, ink > 0), shared by the digit preprocessing
// (which drops specks) and the number segmentation (which takes each mark as a candidate digit).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace hdr {

struct InkComponent {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // bounding box, [x0, x1) x [y0, y1)
  double mass = 0;                     // sum of its ink
  int pixels = 0;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

struct InkComponents {
  static constexpr int32_t kPaper = -1;
  std::vector<int32_t> label;  // per pixel: index into list, or kPaper
  std::vector<InkComponent> list;
};

// Labels width x height values (row-major) by flood fill, components in raster order of their
// first pixel.
InkComponents label_components(std::span<const float> ink, int width, int height);

}  // namespace hdr

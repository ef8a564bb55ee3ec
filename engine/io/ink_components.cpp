#include "engine/io/ink_components.h"

#include <algorithm>

namespace hdr {

InkComponents label_components(std::span<const float> ink, int width, int height) {
  constexpr int32_t kUnlabelled = -2;
  InkComponents out;
  out.label.resize(ink.size());
  for (size_t i = 0; i < ink.size(); ++i) out.label[i] = ink[i] != 0 ? kUnlabelled : InkComponents::kPaper;
  struct Pixel {
    int x, y;
  };
  std::vector<Pixel> stack;
  for (size_t seed = 0; seed < ink.size(); ++seed) {
    if (out.label[seed] != kUnlabelled) continue;
    const auto id = int32_t(out.list.size());
    const int sx = int(seed % size_t(width)), sy = int(seed / size_t(width));
    InkComponent c{sx, sy, sx + 1, sy + 1, 0, 0};
    out.label[seed] = id;
    stack.push_back({sx, sy});
    while (!stack.empty()) {
      const Pixel q = stack.back();
      stack.pop_back();
      c.mass += ink[size_t(q.y) * size_t(width) + size_t(q.x)];
      ++c.pixels;
      c.x0 = std::min(c.x0, q.x), c.x1 = std::max(c.x1, q.x + 1);
      c.y0 = std::min(c.y0, q.y), c.y1 = std::max(c.y1, q.y + 1);
      for (int y = std::max(q.y - 1, 0); y <= std::min(q.y + 1, height - 1); ++y)
        for (int x = std::max(q.x - 1, 0); x <= std::min(q.x + 1, width - 1); ++x) {
          const size_t n = size_t(y) * size_t(width) + size_t(x);
          if (out.label[n] == kUnlabelled) {
            out.label[n] = id;
            stack.push_back({x, y});
          }
        }
    }
    out.list.push_back(c);
  }
  return out;
}

}  // namespace hdr

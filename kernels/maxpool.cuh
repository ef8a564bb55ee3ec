// Max pooling (no padding, Keras "valid"): the element math shared by the CUDA kernels and the
// CPU twin (kernels/cpu/maxpool.cpp). Ties go to the first maximum in row-major order inside
// the window: windows are scanned row by row, left to right, and a value replaces the best so
// far only when strictly greater. argmax holds flat indices into the whole x tensor, so
// backward needs no geometry to scatter dy back.
#pragma once

#include <cstdint>

#include "kernels/hd.h"

namespace hdr {

// One step of the scan: keep the first of equal maxima. Selects, not a branch: on random data
// the comparison is a coin flip, and a mispredicted branch costs more than the whole step.
HDR_HD inline void maxpool_take(float value, int32_t index, float& best, int32_t& best_index) {
  const bool greater = value > best;
  best = greater ? value : best;
  best_index = greater ? index : best_index;
}

// One output: the size x size window whose top-left corner is (row0, col0) of a plane of width
// w that starts at flat index plane_base of x. Returns the maximum, its flat index in argmax.
HDR_HD inline float maxpool_window(const float* x, int64_t plane_base, int w, int row0, int col0, int size,
                                   int32_t& argmax) {
  const int64_t first = plane_base + int64_t(row0) * w + col0;
  float best = x[first];
  argmax = static_cast<int32_t>(first);
  for (int i = 0; i < size; ++i) {
    const int64_t row = plane_base + int64_t(row0 + i) * w + col0;
    for (int j = 0; j < size; ++j) maxpool_take(x[row + j], static_cast<int32_t>(row + j), best, argmax);
  }
  return best;
}

}  // namespace hdr

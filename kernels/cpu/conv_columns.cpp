#include "kernels/cpu/conv_columns.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace hdr::cpu {
namespace {

// Rows of the product: one per output position of every image.
int64_t row_count(const ConvGeometry& g) { return int64_t(g.n) * g.out_h() * g.out_w(); }

void check_block(int block, int channels, const char* what) {
  if (block < 1 || channels % block != 0)
    throw std::invalid_argument(std::string("conv columns: ") + what + " channels not in whole blocks");
}

// One row of columns: output position (oh, ow) of image n, a block of kBlock channels at a time.
template <int kBlock>
void window_row(const ConvGeometry& g, const float* image, int oh, int ow, float* out) {
  const int64_t plane = int64_t(g.h) * g.w;
  const int blocks = g.c / kBlock;
  const int top = oh * g.stride - g.pad_h, left = ow * g.stride - g.pad_w;
  for (int i = 0; i < g.kh; ++i)
    for (int j = 0; j < g.kw; ++j, out += g.c) {
      const int y = top + i, x = left + j;
      if (y < 0 || y >= g.h || x < 0 || x >= g.w) {
        std::fill_n(out, g.c, 0.0f);
        continue;
      }
      const float* at = image + (int64_t(y) * g.w + x) * kBlock;
      for (int b = 0; b < blocks; ++b) std::copy_n(at + b * plane * kBlock, kBlock, out + b * kBlock);
    }
}

template <int kBlock>
void columns_of(const ConvGeometry& g, const float* x, float* columns) {
  const int out_w = g.out_w();
  const int64_t positions = int64_t(g.out_h()) * out_w, width = int64_t(g.kh) * g.kw * g.c;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < row_count(g); ++r) {
    const int n = int(r / positions), p = int(r % positions);
    window_row<kBlock>(g, x + int64_t(n) * g.c * g.h * g.w, p / out_w, p % out_w, columns + r * width);
  }
}

// One block of kBlock channels at a time: each position's kBlock values go to kBlock rows, and
// their sums run per lane in row order (a float chain per lane, kBlock chains side by side).
template <int kBlock>
void gradient_rows_of(const ConvGeometry& g, const float* dy, float* rows, float* dbias) {
  const int64_t positions = int64_t(g.out_h()) * g.out_w(), length = row_count(g);
  const int blocks = g.k / kBlock;
#pragma omp parallel for schedule(static)
  for (int block = 0; block < blocks; ++block) {
    float sum[kBlock] = {};
    float* row = rows + int64_t(block) * kBlock * length;
    for (int n = 0; n < g.n; ++n)
      for (int64_t p = 0; p < positions; ++p) {
        const float* v = dy + ((int64_t(n) * blocks + block) * positions + p) * kBlock;
        for (int l = 0; l < kBlock; ++l) {
          row[l * length + n * positions + p] = v[l];
          sum[l] += v[l];
        }
      }
    if (dbias) std::copy_n(sum, kBlock, dbias + block * kBlock);
  }
}

}  // namespace

int64_t conv_column_count(const ConvGeometry& g) { return row_count(g) * g.kh * g.kw * g.c; }

void conv_columns(const ConvGeometry& g, int x_block, const float* x, float* columns) {
  check_block(x_block, g.c, "input");
  switch (x_block) {
    case 1: return columns_of<1>(g, x, columns);
    case 8: return columns_of<8>(g, x, columns);
    case 16: return columns_of<16>(g, x, columns);
    default: throw std::invalid_argument("conv columns: no kernel for blocks of " + std::to_string(x_block));
  }
}

void conv_gradient_rows(const ConvGeometry& g, int dy_block, const float* dy, float* rows, float* dbias) {
  check_block(dy_block, g.k, "output");
  switch (dy_block) {
    case 1: return gradient_rows_of<1>(g, dy, rows, dbias);
    case 8: return gradient_rows_of<8>(g, dy, rows, dbias);
    case 16: return gradient_rows_of<16>(g, dy, rows, dbias);
    default: throw std::invalid_argument("conv columns: no kernel for blocks of " + std::to_string(dy_block));
  }
}

void conv_weights_from_taps(const ConvGeometry& g, const float* taps, float* dw) {
  const int64_t per_filter = int64_t(g.kh) * g.kw * g.c;
#pragma omp parallel for schedule(static)
  for (int k = 0; k < g.k; ++k)
    for (int t = 0; t < g.kh * g.kw; ++t)
      for (int c = 0; c < g.c; ++c) dw[(int64_t(k) * g.c + c) * g.kh * g.kw + t] = taps[k * per_filter + t * g.c + c];
}

}  // namespace hdr::cpu

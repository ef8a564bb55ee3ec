// F(m x m, 3x3) on nChw8c (conv_winograd.h), m = 3 or 4 (Transforms<m>; the code is the same).
// The tiles of the whole batch are cut into groups of at most kGroupTiles, one group per task: its input
// tiles are transformed into V[tile][xi][c] (8 channels per vector), the (m + 2)^2 products
// M[tile][xi][.] = V[tile][xi][.] x U[xi] run as small matrix products whose 6 x 16 blocks stay
// in registers over the channels, and M is transformed back into the output. A group's V and M
// (about 100 KB each at 64 channels) stay in L2; laying out V by xi across the whole batch
// instead put 36 write streams 16 KB apart and ran the input transform 4x slower. The input
// gradient takes whole images per task: D[tile][xi][k] from dy, E = D x U, and each tile's
// B E B^T added into dx. The weight gradient takes groups of kGradientGroupTiles from each of
// kSlices fixed slices: V as above, D from dy, and P[xi][k][c] += D^T V per slice.
#include "kernels/cpu/conv_winograd.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "kernels/cpu/lanes.h"

namespace hdr::cpu::winograd {
namespace {

using V8 = Lanes<8>;
using F8 = V8::F;

constexpr int kRows = 6;                 // tiles per register block of the product
constexpr int kGroupTiles = 2 * kRows;   // most tiles per task of the forward
constexpr int kGradientGroupTiles = 24;  // tiles per update of the weight gradient's products
constexpr int kSlices = 4;               // fixed slices of the weight gradient's tiles

// The 1-D transforms of F(m, 3) by the Toom-Cook construction at the points 0, 1, -1, 2 (, -2)
// and infinity (Lavin and Gray's for m = 4): input_column is B^T d, output_column A^T m,
// weight_column G g; input_gradient_column (B e), gradient_column (A m) and tap_column (G^T p)
// are their transposes, for the input and weight gradients. The divisions are products: 4x
// faster, within a rounding.
template <int kM>
struct Transforms;

template <>
struct Transforms<4> {
  static constexpr int kTile = 6, kOut = 4;
  static void input_column(const F8* d, F8* t) {
    t[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
    t[1] = -4.0f * d[1] - 4.0f * d[2] + d[3] + d[4];
    t[2] = 4.0f * d[1] - 4.0f * d[2] - d[3] + d[4];
    t[3] = -2.0f * d[1] - d[2] + 2.0f * d[3] + d[4];
    t[4] = 2.0f * d[1] - d[2] - 2.0f * d[3] + d[4];
    t[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
  }
  static void input_gradient_column(const F8* e, F8* o) {
    o[0] = 4.0f * e[0];
    o[1] = -4.0f * e[1] + 4.0f * e[2] - 2.0f * e[3] + 2.0f * e[4] + 4.0f * e[5];
    o[2] = -5.0f * e[0] - 4.0f * e[1] - 4.0f * e[2] - e[3] - e[4];
    o[3] = e[1] - e[2] + 2.0f * e[3] - 2.0f * e[4] - 5.0f * e[5];
    o[4] = e[0] + e[1] + e[2] + e[3] + e[4];
    o[5] = e[5];
  }
  static void output_column(const F8* m, F8* o) {
    o[0] = m[0] + m[1] + m[2] + m[3] + m[4];
    o[1] = m[1] - m[2] + 2.0f * m[3] - 2.0f * m[4];
    o[2] = m[1] + m[2] + 4.0f * m[3] + 4.0f * m[4];
    o[3] = m[1] - m[2] + 8.0f * m[3] - 8.0f * m[4] + m[5];
  }
  static void gradient_column(const F8* m, F8* o) {
    o[0] = m[0];
    o[1] = m[0] + m[1] + m[2] + m[3];
    o[2] = m[0] - m[1] + m[2] - m[3];
    o[3] = m[0] + 2.0f * m[1] + 4.0f * m[2] + 8.0f * m[3];
    o[4] = m[0] - 2.0f * m[1] + 4.0f * m[2] - 8.0f * m[3];
    o[5] = m[3];
  }
  static void tap_column(const F8* p, F8* t) {
    constexpr float kSixth = 1.0f / 6, kTwelfth = 1.0f / 12, kTwentyFourth = 1.0f / 24;
    t[0] = 0.25f * p[0] - kSixth * (p[1] + p[2]) + kTwentyFourth * (p[3] + p[4]);
    t[1] = kSixth * (p[2] - p[1]) + kTwelfth * (p[3] - p[4]);
    t[2] = kSixth * (p[3] + p[4] - p[1] - p[2]) + p[5];
  }
  static void weight_column(const F8* g, F8* u) {
    constexpr float kSixth = 1.0f / 6, kTwelfth = 1.0f / 12, kTwentyFourth = 1.0f / 24;
    u[0] = 0.25f * g[0];
    u[1] = -kSixth * (g[0] + g[1] + g[2]);
    u[2] = -kSixth * (g[0] - g[1] + g[2]);
    u[3] = kTwentyFourth * g[0] + kTwelfth * g[1] + kSixth * g[2];
    u[4] = kTwentyFourth * g[0] - kTwelfth * g[1] + kSixth * g[2];
    u[5] = g[2];
  }
};

template <>
struct Transforms<3> {
  static constexpr int kTile = 5, kOut = 3;
  static void input_column(const F8* d, F8* t) {
    t[0] = 2.0f * d[0] - d[1] - 2.0f * d[2] + d[3];
    t[1] = -2.0f * d[1] - d[2] + d[3];
    t[2] = 2.0f * d[1] - 3.0f * d[2] + d[3];
    t[3] = d[3] - d[1];
    t[4] = 2.0f * d[1] - d[2] - 2.0f * d[3] + d[4];
  }
  static void input_gradient_column(const F8* e, F8* o) {
    o[0] = 2.0f * e[0];
    o[1] = -e[0] - 2.0f * e[1] + 2.0f * e[2] - e[3] + 2.0f * e[4];
    o[2] = -2.0f * e[0] - e[1] - 3.0f * e[2] - e[4];
    o[3] = e[0] + e[1] + e[2] + e[3] - 2.0f * e[4];
    o[4] = e[4];
  }
  static void output_column(const F8* m, F8* o) {
    o[0] = m[0] + m[1] + m[2] + m[3];
    o[1] = m[1] - m[2] + 2.0f * m[3];
    o[2] = m[1] + m[2] + 4.0f * m[3] + m[4];
  }
  static void gradient_column(const F8* m, F8* o) {
    o[0] = m[0];
    o[1] = m[0] + m[1] + m[2];
    o[2] = m[0] - m[1] + m[2];
    o[3] = m[0] + 2.0f * m[1] + 4.0f * m[2];
    o[4] = m[2];
  }
  static void tap_column(const F8* p, F8* t) {
    constexpr float kSixth = 1.0f / 6, kThird = 1.0f / 3;
    t[0] = 0.5f * (p[0] - p[1]) + kSixth * (p[3] - p[2]);
    t[1] = -0.5f * p[1] + kSixth * p[2] + kThird * p[3];
    t[2] = -0.5f * p[1] - kSixth * p[2] + 2.0f * kThird * p[3] + p[4];
  }
  static void weight_column(const F8* g, F8* u) {
    constexpr float kSixth = 1.0f / 6, kThird = 1.0f / 3;
    u[0] = 0.5f * g[0];
    u[1] = -0.5f * (g[0] + g[1] + g[2]);
    u[2] = -kSixth * (g[0] - g[1] + g[2]);
    u[3] = kSixth * g[0] + kThird * g[1] + 2.0f * kThird * g[2];
    u[4] = g[2];
  }
};

// out[.][s] = f(in[.][s]) for each column s: a 1-D transform down the columns of a tile (the
// first half of every 2-D transform here; the second runs f on the rows).
template <int kIn, int kOutRows, int kCols, class F>
void transform_columns(const F8 (&in)[kIn][kCols], F8 (&out)[kOutRows][kCols], F f) {
  for (int s = 0; s < kCols; ++s) {
    F8 column[kIn], result[kOutRows];
    for (int r = 0; r < kIn; ++r) column[r] = in[r][s];
    f(column, result);
    for (int r = 0; r < kOutRows; ++r) out[r][s] = result[r];
  }
}

// The batch's tiles of m x m outputs in order: image, tile row, tile column.
struct Tiling {
  int out, rows, cols, per_image, total;
  Tiling(const ConvGeometry& g, int m)
      : out(m),
        rows((g.out_h() + m - 1) / m),
        cols((g.out_w() + m - 1) / m),
        per_image(rows * cols),
        total(g.n * per_image) {}
};

// The tile at index `tile` of the batch: its image and the top left of its output tile.
struct TilePlace {
  int n, r0, c0;
};
TilePlace place_of(const Tiling& tiling, int tile) {
  const int at = tile % tiling.per_image;
  return {tile / tiling.per_image, at / tiling.cols * tiling.out, at % tiling.cols * tiling.out};
}

// V[t][xi][c] of one tile for one block of 8 channels: the kTile x kTile window at (r0, c0) of
// plane xb, zeros outside it.
template <class W>
void transform_input_tile(const ConvGeometry& g, const float* xb, int r0, int c0, float* v) {
  constexpr int kTile = W::kTile;
  F8 d[kTile][kTile];
  const bool inside = r0 >= 0 && c0 >= 0 && r0 + kTile <= g.h && c0 + kTile <= g.w;
  for (int r = 0; r < kTile; ++r)
    for (int s = 0; s < kTile; ++s) {
      const int row = r0 + r, col = c0 + s;
      d[r][s] = inside || (row >= 0 && row < g.h && col >= 0 && col < g.w)
                    ? V8::load(xb + (int64_t(row) * g.w + col) * 8)
                    : F8{};
    }
  F8 t[kTile][kTile];
  transform_columns(d, t, W::input_column);
  for (int r = 0; r < kTile; ++r) {
    F8 out[kTile];
    W::input_column(t[r], out);
    for (int s = 0; s < kTile; ++s) V8::store(v + int64_t(r * kTile + s) * g.c, out[s]);
  }
}

// Output block of 8 filters of one tile from m[xi] (k floats apart), + bias, clipped to the map.
template <class W>
void transform_output_tile(const ConvGeometry& g, const float* m, F8 bias, int r0, int c0, float* yb) {
  constexpr int kTile = W::kTile, kOut = W::kOut;
  F8 p[kTile][kTile], t[kOut][kTile];
  for (int r = 0; r < kTile; ++r)
    for (int s = 0; s < kTile; ++s) p[r][s] = V8::load(m + int64_t(r * kTile + s) * g.k);
  transform_columns(p, t, W::output_column);
  const int rows = std::min(kOut, g.out_h() - r0), cols = std::min(kOut, g.out_w() - c0);
  for (int r = 0; r < rows; ++r) {
    F8 out[kOut];
    W::output_column(t[r], out);
    for (int s = 0; s < cols; ++s) V8::store(yb + (int64_t(r0 + r) * g.out_w() + c0 + s) * 8, out[s] + bias);
  }
}

// D[t][xi][k] of one tile for one block of 8 filters: A dy A^T of the kOut x kOut output
// gradient at (r0, c0) of plane dyb, zeros where the tile overhangs the map.
template <class W>
void transform_gradient_tile(const ConvGeometry& g, const float* dyb, int r0, int c0, float* d) {
  constexpr int kTile = W::kTile, kOut = W::kOut;
  const int rows = std::min(kOut, g.out_h() - r0), cols = std::min(kOut, g.out_w() - c0);
  F8 m[kOut][kOut], t[kTile][kOut];
  for (int r = 0; r < kOut; ++r)
    for (int s = 0; s < kOut; ++s)
      m[r][s] = r < rows && s < cols ? V8::load(dyb + (int64_t(r0 + r) * g.out_w() + c0 + s) * 8) : F8{};
  transform_columns(m, t, W::gradient_column);
  for (int r = 0; r < kTile; ++r) {
    F8 out[kTile];
    W::gradient_column(t[r], out);
    for (int s = 0; s < kTile; ++s) V8::store(d + int64_t(r * kTile + s) * g.k, out[s]);
  }
}

// B E B^T of one tile's transformed input gradient e[xi] (c floats apart), for 8 channels,
// added into plane dxb over the kTile x kTile window at (r0, c0) clipped to the map.
template <class W>
void add_input_gradient_tile(const ConvGeometry& g, const float* e, int r0, int c0, float* dxb) {
  constexpr int kTile = W::kTile;
  F8 p[kTile][kTile], t[kTile][kTile];
  for (int r = 0; r < kTile; ++r)
    for (int s = 0; s < kTile; ++s) p[r][s] = V8::load(e + int64_t(r * kTile + s) * g.c);
  transform_columns(p, t, W::input_gradient_column);
  for (int r = 0; r < kTile; ++r) {
    const int row = r0 + r;
    if (row < 0 || row >= g.h) continue;
    F8 out[kTile];
    W::input_gradient_column(t[r], out);
    for (int s = 0; s < kTile; ++s) {
      const int col = c0 + s;
      if (col < 0 || col >= g.w) continue;
      float* at = dxb + (int64_t(row) * g.w + col) * 8;
      V8::store(at, V8::load(at) + out[s]);
    }
  }
}

// f(std::integral_constant<int, R>{}) for R = rows, 1 to kRows: a register block's row count as
// the constant its loops unroll by.
template <class F>
void with_rows(int rows, F f) {
  switch (rows) {
    case 6: return f(std::integral_constant<int, 6>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 2: return f(std::integral_constant<int, 2>{});
    default: return f(std::integral_constant<int, 1>{});
  }
}

// One register block of a small matrix product, kR rows x 8 kVectors columns:
//   c[r][.] (+)= sum over q < depth of a[r * a_row + q * a_depth] b[q * b_depth + .],
// q in order, starting from 0 or (accumulate) from what c holds. The accumulators stay in
// registers (kR x kVectors <= 12 of AVX2's 16). The forward's products take a = V, b = U over
// the channels; the weight gradient's take a = D, b = V over the tiles.
template <int kR, int kVectors>
void product_block(int depth, const float* a, int64_t a_row, int64_t a_depth, const float* b, int64_t b_depth, float* c,
                   int64_t c_row, bool accumulate) {
  F8 acc[kR][kVectors] = {};
  if (accumulate)
    for (int r = 0; r < kR; ++r)
      for (int j = 0; j < kVectors; ++j) acc[r][j] = V8::load(c + r * c_row + 8 * j);
  for (int q = 0; q < depth; ++q) {
    F8 column[kVectors];
    for (int j = 0; j < kVectors; ++j) column[j] = V8::load(b + q * b_depth + 8 * j);
    for (int r = 0; r < kR; ++r) {
      const float x = a[r * a_row + q * a_depth];
      const F8 broadcast = {x, x, x, x, x, x, x, x};  // one vbroadcastss (F8{} + x adds a zero first)
      for (int j = 0; j < kVectors; ++j) acc[r][j] += broadcast * column[j];
    }
  }
  for (int r = 0; r < kR; ++r)
    for (int j = 0; j < kVectors; ++j) V8::store(c + r * c_row + 8 * j, acc[r][j]);
}

// M[t][xi][.] = V[t][xi][.] x U[xi] for the group's tiles and each of the `points` xi, 16
// filters (8 for an odd last block) at a time. Flattened: left to itself, GCC called the
// register blocks out of line, and conv2's passes ran 1.1-1.3x slower.
[[gnu::flatten]] void products(const ConvGeometry& g, int points, int tiles, const float* u, const float* v, float* m) {
  const int64_t v_stride = int64_t(points) * g.c, m_stride = int64_t(points) * g.k;
  for (int xi = 0; xi < points; ++xi) {
    const float* ux = u + int64_t(xi) * g.c * g.k;
    for (int k0 = 0; k0 < g.k; k0 += 16)
      for (int t = 0; t < tiles; t += kRows) {
        const int rows = std::min(kRows, tiles - t);
        const float* vt = v + t * v_stride + xi * g.c;
        float* mt = m + t * m_stride + xi * g.k + k0;
        with_rows(rows, [&](auto row_count) {
          if (k0 + 16 <= g.k)
            product_block<row_count, 2>(g.c, vt, v_stride, 1, ux + k0, g.k, mt, m_stride, false);
          else
            product_block<row_count, 1>(g.c, vt, v_stride, 1, ux + k0, g.k, mt, m_stride, false);
        });
      }
  }
}

// P[xi][k][c] += sum over the group's tiles of D[t][xi][k] V[t][xi][c].
[[gnu::flatten]] void gradient_products(const ConvGeometry& g, int points, int tiles, const float* d, const float* v,
                                        float* p) {
  const int64_t v_stride = int64_t(points) * g.c, d_stride = int64_t(points) * g.k;
  for (int xi = 0; xi < points; ++xi) {
    float* px = p + int64_t(xi) * g.k * g.c;
    for (int k0 = 0; k0 < g.k; k0 += kRows)
      for (int c0 = 0; c0 < g.c; c0 += 16) {
        const int rows = std::min(kRows, g.k - k0);
        const float* dt = d + xi * g.k + k0;
        const float* vt = v + xi * g.c + c0;
        float* pt = px + int64_t(k0) * g.c + c0;
        with_rows(rows, [&](auto row_count) {
          if (c0 + 16 <= g.c)
            product_block<row_count, 2>(tiles, dt, 1, d_stride, vt, v_stride, pt, g.c, true);
          else
            product_block<row_count, 1>(tiles, dt, 1, d_stride, vt, v_stride, pt, g.c, true);
        });
      }
  }
}

// This thread's scratch buffer `slot` (0 or 1), of at least `count` floats, kept from call to
// call. Allocated on every call, the group buffers put the forward's time 1.3-1.8x up and down
// with their sizes (likely the allocator returning and refaulting their pages), and cnn_bn's conv3
// forward at 0.55 ms warm instead of 0.25.
float* scratch(int slot, size_t count) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& b = buffers[slot];
  if (b.size() < count) b.resize(count);
  return b.data();
}

// Items per task for `items` cut into tasks of at most `per_task`, aiming at a task count that is
// a multiple of 4 (not reached where few items leave a short last task), so that 2 or 4 threads
// share the tasks evenly: cnn_bn's conv3 took its input gradient in 3 tasks of 24, 24 and 16
// images, 48 on one thread and 16 on the other. The grouping never changes a value: each tile's sums run the same way
// in any group.
int balanced_task_size(int items, int per_task) {
  int tasks = (items + per_task - 1) / per_task;
  tasks = std::min(items, (tasks + 3) / 4 * 4);
  return (items + tasks - 1) / tasks;
}

// f(Transforms<tile>{}): the transforms of the output tile `tile` (3 or 4) as a type.
template <class F>
void with_transforms(int tile, F f) {
  if (tile == 3) return f(Transforms<3>{});
  if (tile == 4) return f(Transforms<4>{});
  throw std::invalid_argument("winograd: output tiles are 3x3 or 4x4");
}

template <class W>
void transform_weights_by(const ConvGeometry& g, const float* w, bool for_input_gradient, float* u) {
  constexpr int kTile = W::kTile;
  // The product's channels and filters (swapped for the input gradient) and where a tap of
  // (channel, filter) lies in w: a vector holds 8 filters, gathered `filter_step` apart.
  const int channels = for_input_gradient ? g.k : g.c, filters = for_input_gradient ? g.c : g.k;
  const int64_t channel_step = for_input_gradient ? int64_t(g.c) * 9 : 9;
  const int64_t filter_step = for_input_gradient ? 9 : int64_t(g.c) * 9;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < channels; ++c)
    for (int k = 0; k < filters; k += 8) {
      const float* first = w + c * channel_step + k * filter_step;
      // Each filter's 9 taps read in a row, then as 9 vectors of 8 filters.
      alignas(32) float raw[9][8];
      for (int l = 0; l < 8; ++l)
        for (int t = 0; t < 9; ++t) raw[t][l] = first[l * filter_step + t];
      F8 taps[3][3];
      for (int t = 0; t < 9; ++t) taps[t / 3][t % 3] = V8::load(raw[t]);
      F8 half[kTile][3], full[kTile][kTile];
      transform_columns(taps, half, W::weight_column);
      for (int i = 0; i < kTile; ++i) W::weight_column(half[i], full[i]);
      for (int i = 0; i < kTile; ++i)
        for (int j = 0; j < kTile; ++j)
          V8::store(u + (int64_t(i * kTile + j) * channels + c) * filters + k, full[i][j]);
    }
}

template <class W>
void forward_by(const ConvGeometry& g, const float* u, const float* x, const float* bias, float* y) {
  constexpr int kPoints = W::kTile * W::kTile;
  const Tiling tiling(g, W::kOut);
  const int group_tiles = balanced_task_size(tiling.total, kGroupTiles);
  const int groups = (tiling.total + group_tiles - 1) / group_tiles;
  const int64_t in_plane = int64_t(g.h) * g.w * 8, out_plane = int64_t(g.out_h()) * g.out_w() * 8;
#pragma omp parallel
  {
    float* const v = scratch(0, size_t(group_tiles) * kPoints * size_t(g.c));
    float* const m = scratch(1, size_t(group_tiles) * kPoints * size_t(g.k));
#pragma omp for schedule(static)
    for (int group = 0; group < groups; ++group) {
      const int first = group * group_tiles, tiles = std::min(group_tiles, tiling.total - first);
      for (int t = 0; t < tiles; ++t) {
        const TilePlace at = place_of(tiling, first + t);
        for (int b = 0; b < g.c / 8; ++b)
          transform_input_tile<W>(g, x + (int64_t(at.n) * (g.c / 8) + b) * in_plane, at.r0 - g.pad_h, at.c0 - g.pad_w,
                                  v + int64_t(t) * kPoints * g.c + b * 8);
      }
      products(g, kPoints, tiles, u, v, m);
      for (int t = 0; t < tiles; ++t) {
        const TilePlace at = place_of(tiling, first + t);
        for (int b = 0; b < g.k / 8; ++b)
          transform_output_tile<W>(g, m + int64_t(t) * kPoints * g.k + b * 8, bias ? V8::load(bias + b * 8) : F8{},
                                   at.r0, at.c0, y + (int64_t(at.n) * (g.k / 8) + b) * out_plane);
      }
    }
  }
}

template <class W>
void backward_data_by(const ConvGeometry& g, const float* u, const float* dy, float* dx) {
  constexpr int kPoints = W::kTile * W::kTile;
  const Tiling tiling(g, W::kOut);
  // Whole images per task, so that each overlapping tile is added into dx by one thread in order.
  const int images = balanced_task_size(g.n, std::max(1, kGradientGroupTiles / tiling.per_image));
  const int groups = (g.n + images - 1) / images;
  const int64_t in_plane = int64_t(g.h) * g.w * 8, out_plane = int64_t(g.out_h()) * g.out_w() * 8;
  ConvGeometry product = g;  // E[t][xi][c] = D[t][xi][.] x U[xi]: k channels in, c filters out
  product.c = g.k;
  product.k = g.c;
  const size_t group_tiles = size_t(images) * size_t(tiling.per_image);
#pragma omp parallel
  {
    float* const d = scratch(0, group_tiles * kPoints * size_t(g.k));
    float* const e = scratch(1, group_tiles * kPoints * size_t(g.c));
#pragma omp for schedule(static)
    for (int group = 0; group < groups; ++group) {
      const int n0 = group * images, count = std::min(images, g.n - n0);
      const int first = n0 * tiling.per_image, tiles = count * tiling.per_image;
      for (int t = 0; t < tiles; ++t) {
        const TilePlace at = place_of(tiling, first + t);
        for (int b = 0; b < g.k / 8; ++b)
          transform_gradient_tile<W>(g, dy + (int64_t(at.n) * (g.k / 8) + b) * out_plane, at.r0, at.c0,
                                     d + int64_t(t) * kPoints * g.k + b * 8);
      }
      products(product, kPoints, tiles, u, d, e);
      std::fill_n(dx + int64_t(n0) * g.c * g.h * g.w, int64_t(count) * g.c * g.h * g.w, 0.0f);
      for (int t = 0; t < tiles; ++t) {
        const TilePlace at = place_of(tiling, first + t);
        for (int b = 0; b < g.c / 8; ++b)
          add_input_gradient_tile<W>(g, e + int64_t(t) * kPoints * g.c + b * 8, at.r0 - g.pad_h, at.c0 - g.pad_w,
                                     dx + (int64_t(at.n) * (g.c / 8) + b) * in_plane);
      }
    }
  }
}

template <class W>
void backward_weights_by(const ConvGeometry& g, const float* x, const float* dy, float* dw, float* dbias) {
  constexpr int kTile = W::kTile, kPoints = kTile * kTile;
  const Tiling tiling(g, W::kOut);
  const int64_t in_plane = int64_t(g.h) * g.w * 8, out_plane = int64_t(g.out_h()) * g.out_w() * 8;
  const int64_t per_slice = int64_t(kPoints) * g.k * g.c;
  const auto p = std::make_unique_for_overwrite<float[]>(size_t(kSlices * per_slice));
#pragma omp parallel
  {
    // Allocated per call: the kept scratch buffers ran this pass 1.3x slower (bench/README.md,
    // ninth pass; the cause was not found).
    const auto v = std::make_unique_for_overwrite<float[]>(size_t(kGradientGroupTiles) * kPoints * size_t(g.c));
    const auto d = std::make_unique_for_overwrite<float[]>(size_t(kGradientGroupTiles) * kPoints * size_t(g.k));
    // Each slice's sums over its tiles, group by group in order.
#pragma omp for schedule(static)
    for (int slice = 0; slice < kSlices; ++slice) {
      float* ps = p.get() + slice * per_slice;
      std::fill_n(ps, per_slice, 0.0f);
      const int end = int(int64_t(tiling.total) * (slice + 1) / kSlices);
      for (int first = int(int64_t(tiling.total) * slice / kSlices); first < end; first += kGradientGroupTiles) {
        const int tiles = std::min(kGradientGroupTiles, end - first);
        for (int t = 0; t < tiles; ++t) {
          const TilePlace at = place_of(tiling, first + t);
          for (int b = 0; b < g.c / 8; ++b)
            transform_input_tile<W>(g, x + (int64_t(at.n) * (g.c / 8) + b) * in_plane, at.r0 - g.pad_h, at.c0 - g.pad_w,
                                    v.get() + int64_t(t) * kPoints * g.c + b * 8);
          for (int b = 0; b < g.k / 8; ++b)
            transform_gradient_tile<W>(g, dy + (int64_t(at.n) * (g.k / 8) + b) * out_plane, at.r0, at.c0,
                                       d.get() + int64_t(t) * kPoints * g.k + b * 8);
        }
        gradient_products(g, kPoints, tiles, d.get(), v.get(), ps);
      }
    }
    // The slices added in order, then G^T P G per (filter, 8 channels) into oihw.
#pragma omp for schedule(static)
    for (int k = 0; k < g.k; ++k)
      for (int c = 0; c < g.c; c += 8) {
        F8 sum[kTile][kTile];
        for (int xi = 0; xi < kPoints; ++xi) {
          const int64_t at = (int64_t(xi) * g.k + k) * g.c + c;
          F8 total = V8::load(p.get() + at);
          for (int slice = 1; slice < kSlices; ++slice) total += V8::load(p.get() + slice * per_slice + at);
          sum[xi / kTile][xi % kTile] = total;
        }
        F8 half[3][kTile], taps[3][3];
        transform_columns(sum, half, W::tap_column);
        for (int i = 0; i < 3; ++i) W::tap_column(half[i], taps[i]);
        for (int l = 0; l < 8; ++l)
          for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) dw[((int64_t(k) * g.c + c + l) * 3 + i) * 3 + j] = taps[i][j][l];
      }
    // dbias: each filter's gradient summed over the batch in order, 8 filters per vector.
    if (dbias) {
#pragma omp for schedule(static)
      for (int b = 0; b < g.k / 8; ++b) {
        F8 total{};
        for (int n = 0; n < g.n; ++n) {
          const float* plane = dy + (int64_t(n) * (g.k / 8) + b) * out_plane;
          for (int64_t s = 0; s < out_plane; s += 8) total += V8::load(plane + s);
        }
        V8::store(dbias + b * 8, total);
      }
    }
  }
}

int points_of(int tile) { return (tile + 2) * (tile + 2); }

}  // namespace

bool supports(const ConvGeometry& g) {
  return g.kh == 3 && g.kw == 3 && g.stride == 1 && g.pad_h == g.pad_w && g.pad_h >= 0 && g.pad_h <= 2 &&
         g.c % 8 == 0 && g.k % 8 == 0 && g.c > 0 && g.k > 0 && g.n > 0 && g.out_h() > 0 && g.out_w() > 0;
}

int64_t tile_count(const ConvGeometry& g, int tile) { return Tiling(g, tile).total; }

int output_tile(const ConvGeometry& g) {
  const auto products = [&](int m) { return double(tile_count(g, m)) * points_of(m); };
  return products(3) < products(4) ? 3 : 4;
}

int64_t transformed_weight_count(const ConvGeometry& g, int tile) { return int64_t(points_of(tile)) * g.c * g.k; }

void transform_weights(const ConvGeometry& g, int tile, const float* w, bool for_input_gradient, float* u) {
  with_transforms(tile, [&](auto t) { transform_weights_by<decltype(t)>(g, w, for_input_gradient, u); });
}

void forward(const ConvGeometry& g, int tile, const float* u, const float* x, const float* bias, float* y) {
  with_transforms(tile, [&](auto t) { forward_by<decltype(t)>(g, u, x, bias, y); });
}

void backward_data(const ConvGeometry& g, int tile, const float* u, const float* dy, float* dx) {
  with_transforms(tile, [&](auto t) { backward_data_by<decltype(t)>(g, u, dy, dx); });
}

void backward_weights(const ConvGeometry& g, int tile, const float* x, const float* dy, float* dw, float* dbias) {
  with_transforms(tile, [&](auto t) { backward_weights_by<decltype(t)>(g, x, dy, dw, dbias); });
}

double multiply_adds(const ConvGeometry& g, int tile) {
  return double(tile_count(g, tile)) * points_of(tile) * g.c * g.k;
}

}  // namespace hdr::cpu::winograd

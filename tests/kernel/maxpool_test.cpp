// Max pooling on the CPU (kernels/cpu/maxpool.cpp) against a plain window-by-window reference
// on odd planes (13 x 13, 11 x 11 and 7 x 7, whose last row and column fall outside every
// window), overlapping windows (stride < size), ties, and finite differences of sum(y * r).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "kernels/ops.h"
#include "tests/kernel/grad_check.h"

namespace hdr {
namespace {

using test::all_close;

PoolGeometry geometry(int n, int c, int hw, int size, int stride) { return PoolGeometry{n, c, hw, hw, size, stride}; }

int64_t in_volume(const PoolGeometry& g) { return int64_t(g.n) * g.c * g.h * g.w; }
int64_t out_volume(const PoolGeometry& g) { return int64_t(g.n) * g.c * g.out_h() * g.out_w(); }

// The plain reference: every output scans its window row by row and keeps the first maximum.
// argmax: its flat index into x here (the kernels' is the index within the plane, in_plane()).
struct Pooled {
  std::vector<double> y;
  std::vector<int64_t> argmax;
};

// The kernels' argmax, the index within the plane, of a flat index into x.
std::vector<int32_t> in_plane(const PoolGeometry& g, const std::vector<int64_t>& flat) {
  std::vector<int32_t> out(flat.size());
  for (size_t i = 0; i < flat.size(); ++i) out[i] = int32_t(flat[i] % (int64_t(g.h) * g.w));
  return out;
}

template <class T>
Pooled reference_forward(const PoolGeometry& g, const std::vector<T>& x) {
  Pooled p{std::vector<double>(size_t(out_volume(g))), std::vector<int64_t>(size_t(out_volume(g)))};
  size_t out = 0;
  for (int plane = 0; plane < g.n * g.c; ++plane) {
    for (int r = 0; r < g.out_h(); ++r) {
      for (int q = 0; q < g.out_w(); ++q, ++out) {
        int64_t best = -1;
        for (int i = 0; i < g.size; ++i) {
          for (int j = 0; j < g.size; ++j) {
            const int64_t k = (int64_t(plane) * g.h + r * g.stride + i) * g.w + q * g.stride + j;
            if (best < 0 || x[size_t(k)] > x[size_t(best)]) best = k;
          }
        }
        p.y[out] = double(x[size_t(best)]);
        p.argmax[out] = best;
      }
    }
  }
  return p;
}

std::vector<double> reference_backward(const PoolGeometry& g, const std::vector<float>& x,
                                       const std::vector<float>& dy) {
  const Pooled p = reference_forward(g, x);
  std::vector<double> dx(x.size(), 0.0);
  for (size_t i = 0; i < dy.size(); ++i) dx[size_t(p.argmax[i])] += dy[i];
  return dx;
}

std::vector<float> uniform(size_t count, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(count);
  for (float& e : v) e = dist(rng);
  return v;
}

TEST(MaxpoolTest, OutputSizeIsKerasValid) {
  EXPECT_EQ(geometry(1, 1, 13, 2, 2).out_h(), 6);
  EXPECT_EQ(geometry(1, 1, 11, 2, 2).out_h(), 5);
  EXPECT_EQ(geometry(1, 1, 7, 2, 2).out_h(), 3);
  EXPECT_EQ(geometry(1, 1, 13, 3, 2).out_h(), 6);
}

TEST(MaxpoolTest, ForwardAndBackwardMatchReference) {
  struct Case {
    int hw, size, stride;
  };
  // The last two overlap (stride < size): backward must add, not overwrite.
  for (const Case k : {Case{13, 2, 2}, Case{11, 2, 2}, Case{7, 2, 2}, Case{13, 3, 2}, Case{7, 3, 1}}) {
    SCOPED_TRACE(fmt::format("{0}x{0} size {1} stride {2}", k.hw, k.size, k.stride));
    const PoolGeometry g = geometry(3, 5, k.hw, k.size, k.stride);
    const std::vector<float> x = uniform(size_t(in_volume(g)), -3.0f, 1.0f, 3);
    std::vector<float> y(size_t(out_volume(g)), std::numeric_limits<float>::quiet_NaN());
    std::vector<int32_t> argmax(y.size(), -1);
    cpu::maxpool_forward(g, x.data(), y.data(), argmax.data());

    const Pooled ref = reference_forward(g, x);
    EXPECT_TRUE(all_close("y", y, ref.y, 0.0, 0.0));
    EXPECT_EQ(argmax, in_plane(g, ref.argmax));

    const std::vector<float> dy = uniform(y.size(), -1.0f, 1.0f, 4);
    std::vector<float> dx(x.size(), std::numeric_limits<float>::quiet_NaN());  // all of dx must be written
    cpu::maxpool_backward(g, dy.data(), argmax.data(), dx.data());
    EXPECT_TRUE(all_close("dx", dx, reference_backward(g, x, dy), 1e-6, 1e-6));
  }
}

TEST(MaxpoolTest, TiesPickTheFirstInRowMajorOrder) {
  // A constant plane: every window's maximum is its top-left value.
  const PoolGeometry g = geometry(2, 3, 7, 3, 2);
  const std::vector<float> x(size_t(in_volume(g)), 1.0f);
  std::vector<float> y(size_t(out_volume(g)));
  std::vector<int32_t> argmax(y.size());
  cpu::maxpool_forward(g, x.data(), y.data(), argmax.data());
  size_t out = 0;
  for (int plane = 0; plane < g.n * g.c; ++plane)
    for (int r = 0; r < g.out_h(); ++r)
      for (int q = 0; q < g.out_w(); ++q, ++out)
        EXPECT_EQ(argmax[out], r * g.stride * g.w + q * g.stride) << "output " << out << " of plane " << plane;

  // One 2 x 2 window [1 5; 5 5]: the maximum in its first row wins over the two below.
  const PoolGeometry one = geometry(1, 1, 2, 2, 2);
  const float window[] = {1.0f, 5.0f, 5.0f, 5.0f};
  float max = 0.0f;
  int32_t where = -1;
  cpu::maxpool_forward(one, window, &max, &where);
  EXPECT_EQ(max, 5.0f);
  EXPECT_EQ(where, 1);
}

TEST(MaxpoolTest, BackwardMatchesFiniteDifferences) {
  for (const int stride : {2, 1}) {
    SCOPED_TRACE(fmt::format("size 3 stride {}", stride));
    const PoolGeometry g = geometry(2, 3, 7, 3, stride);
    // Distinct values 0.01 apart, shuffled: a step of 1e-5 never changes which value wins.
    std::vector<float> x(size_t(in_volume(g)));
    std::iota(x.begin(), x.end(), 0.0f);
    std::shuffle(x.begin(), x.end(), std::mt19937(8));
    for (float& v : x) v = 0.01f * v - 1.0f;
    const std::vector<float> r = uniform(size_t(out_volume(g)), -1.0f, 1.0f, 9);

    std::vector<float> y(r.size());
    std::vector<int32_t> argmax(r.size());
    std::vector<float> dx(x.size());
    cpu::maxpool_forward(g, x.data(), y.data(), argmax.data());
    cpu::maxpool_backward(g, r.data(), argmax.data(), dx.data());

    std::vector<double> point(x.begin(), x.end());
    auto loss = [&] {
      const Pooled p = reference_forward(g, point);
      double sum = 0.0;
      for (size_t i = 0; i < r.size(); ++i) sum += p.y[i] * r[i];
      return sum;
    };
    EXPECT_TRUE(all_close("dx", dx, test::numeric_gradient(point, loss), 1e-6, 1e-5));
  }
}

}  // namespace
}  // namespace hdr

// Convolutions written out in double precision for the tests of the CPU's convolution kernels
// (tests/unit/onednn_ops_test.cpp, tests/kernel/conv_winograd_test.cpp): NCHW activations, oihw
// weights. Each value comes with the sum of its terms' magnitudes, which bounds the rounding of
// any order of summation, so the tolerance holds for long sums yet catches any wrong index.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/types.h"

namespace hdr::test {

// Reference values with, per element, the sum of the absolute values of its terms.
struct Reference {
  std::vector<double> value, magnitude;
  explicit Reference(size_t size) : value(size, 0.0), magnitude(size, 0.0) {}
  void add(size_t i, double term) {
    value[i] += term;
    magnitude[i] += std::fabs(term);
  }
};

inline void expect_close(const std::vector<float>& got, const Reference& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.value.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tolerance = 1e-6 + 2e-5 * want.magnitude[i];
    if (!(std::fabs(got[i] - want.value[i]) <= tolerance) && ++bad <= 5)
      ADD_FAILURE() << what << " [" << i << "]: got " << got[i] << ", want " << want.value[i] << " +- " << tolerance;
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " values differ";
}

inline size_t x_size(const ConvGeometry& g) { return size_t(g.n) * g.c * g.h * g.w; }
inline size_t w_size(const ConvGeometry& g) { return size_t(g.k) * g.c * g.kh * g.kw; }
inline size_t y_size(const ConvGeometry& g) { return size_t(g.n) * g.k * g.out_h() * g.out_w(); }

// Calls f(x index, w index, y index) for every multiply of the convolution.
template <typename F>
void for_each_tap(const ConvGeometry& g, F f) {
  const int oh = g.out_h(), ow = g.out_w();
  for (int n = 0; n < g.n; ++n)
    for (int k = 0; k < g.k; ++k)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox)
          for (int c = 0; c < g.c; ++c)
            for (int ky = 0; ky < g.kh; ++ky)
              for (int kx = 0; kx < g.kw; ++kx) {
                const int iy = oy * g.stride - g.pad_h + ky, ix = ox * g.stride - g.pad_w + kx;
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                f(((size_t(n) * g.c + c) * g.h + iy) * g.w + ix, ((size_t(k) * g.c + c) * g.kh + ky) * g.kw + kx,
                  ((size_t(n) * g.k + k) * oh + oy) * ow + ox);
              }
}

inline Reference reference_forward(const ConvGeometry& g, const std::vector<float>& x, const std::vector<float>& w,
                                   const float* bias) {
  Reference y(y_size(g));
  for_each_tap(g, [&](size_t xi, size_t wi, size_t yi) { y.add(yi, double(x[xi]) * w[wi]); });
  if (bias) {
    const size_t plane = size_t(g.out_h()) * g.out_w();
    for (size_t i = 0; i < y.value.size(); ++i) y.add(i, bias[(i / plane) % g.k]);
  }
  return y;
}

inline Reference reference_backward_data(const ConvGeometry& g, const std::vector<float>& w,
                                         const std::vector<float>& dy) {
  Reference dx(x_size(g));
  for_each_tap(g, [&](size_t xi, size_t wi, size_t yi) { dx.add(xi, double(w[wi]) * dy[yi]); });
  return dx;
}

inline Reference reference_backward_weights(const ConvGeometry& g, const std::vector<float>& x,
                                            const std::vector<float>& dy) {
  Reference dw(w_size(g));
  for_each_tap(g, [&](size_t xi, size_t wi, size_t yi) { dw.add(wi, double(x[xi]) * dy[yi]); });
  return dw;
}

inline Reference reference_bias_grad(const ConvGeometry& g, const std::vector<float>& dy) {
  Reference db(size_t(g.k));
  const size_t plane = size_t(g.out_h()) * g.out_w();
  for (size_t i = 0; i < dy.size(); ++i) db.add((i / plane) % g.k, dy[i]);
  return db;
}

}  // namespace hdr::test

// The max pooling kernels of kernels/maxpool.cuh, run through the CUDA emulation
// (kernels/simt_host.h) with the launchers' geometry at block sizes 32..256, on odd planes
// (13 x 13 and 7 x 7, whose last rows and columns fall outside every window), overlapping
// windows (stride < size), gaps (stride > size) and tie-heavy data, against the CPU twin and a
// plain loop. Forward runs maxpool_window like the twin, and backward adds each input's dy in
// the order the twin scatters them, so both agree with the twin bit for bit.
#include "kernels/simt_host.h"
// simt_host.h first: it enables the __global__ kernels of the .cuh.
#include "kernels/maxpool.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "engine/verify/compare.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

constexpr int kBlockSizes[] = {32, 48, 64, 96, 256};
constexpr Tolerance kExact{0.0, 0.0};

PoolGeometry geometry(int n, int c, int hw, int size, int stride) { return PoolGeometry{n, c, hw, hw, size, stride}; }

// 2x2/2 and 3x3/2 on 13 x 13 (row 12 uncovered by 2x2/2), 3x3/1 (up to 9 windows per input),
// 2x2/3 on 7 x 7 (rows 2 and 5 in no window), a single channel.
const PoolGeometry kGeometries[] = {geometry(3, 5, 13, 2, 2), geometry(2, 3, 13, 3, 2), geometry(2, 3, 13, 3, 1),
                                    geometry(3, 2, 7, 2, 3), geometry(1, 1, 13, 2, 2)};

// ties: values from {0, 1, 2}, so most windows hold several equal maxima.
std::vector<float> random_input(const PoolGeometry& g, bool ties, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-2.0f, 2.0f);
  std::uniform_int_distribution<int> small(0, 2);
  std::vector<float> x(size_t(maxpool_in_count(g)));
  for (float& v : x) v = ties ? float(small(rng)) : real(rng);
  return x;
}

void expect_close(std::string_view what, const std::vector<float>& got, const std::vector<float>& want, Tolerance tol) {
  const Comparison c = compare(got, want, tol);
  EXPECT_TRUE(c.ok()) << what << ": " << c.summary();
}

// The plain loop: each window scanned row by row, the first maximum kept.
void reference_forward(const PoolGeometry& g, const std::vector<float>& x, std::vector<float>& y,
                       std::vector<int32_t>& argmax) {
  size_t o = 0;
  for (int plane = 0; plane < g.n * g.c; ++plane)
    for (int r = 0; r < g.out_h(); ++r)
      for (int q = 0; q < g.out_w(); ++q, ++o) {
        int64_t best = -1;
        for (int i = 0; i < g.size; ++i)
          for (int j = 0; j < g.size; ++j) {
            const int64_t k = (int64_t(plane) * g.h + r * g.stride + i) * g.w + q * g.stride + j;
            if (best < 0 || x[size_t(k)] > x[size_t(best)]) best = k;
          }
        y[o] = x[size_t(best)];
        argmax[o] = int32_t(best - int64_t(plane) * g.h * g.w);  // within the plane
      }
}

TEST(MaxpoolSimt, ForwardMatchesCpuTwinAndReference) {
  for (const PoolGeometry& g : kGeometries) {
    for (bool ties : {false, true}) {
      const std::vector<float> x = random_input(g, ties, 3);
      const size_t outs = size_t(maxpool_out_count(g));
      std::vector<float> twin(outs), ref(outs);
      std::vector<int32_t> twin_argmax(outs), ref_argmax(outs);
      cpu::maxpool_forward(g, x.data(), twin.data(), twin_argmax.data());
      reference_forward(g, x, ref, ref_argmax);
      for (int block : kBlockSizes) {
        SCOPED_TRACE(testing::Message() << g.h << "x" << g.w << " size " << g.size << " stride " << g.stride << " ties "
                                        << ties << " block " << block);
        std::vector<float> y(outs, NAN);
        std::vector<int32_t> argmax(outs, -1);
        simt::launch(maxpool_forward_grid(g, block), dim3(unsigned(block)), maxpool_forward_kernel, g, x.data(),
                     y.data(), argmax.data());
        expect_close("y", y, twin, kExact);
        expect_close("y", y, ref, kExact);
        EXPECT_EQ(argmax, twin_argmax);
        EXPECT_EQ(argmax, ref_argmax);
        // Without argmax (inference): the same y from both.
        std::vector<float> y_alone(outs, NAN), twin_alone(outs, NAN);
        simt::launch(maxpool_forward_grid(g, block), dim3(unsigned(block)), maxpool_forward_kernel, g, x.data(),
                     y_alone.data(), nullptr);
        cpu::maxpool_forward(g, x.data(), twin_alone.data(), nullptr);
        expect_close("y without argmax", y_alone, twin, kExact);
        expect_close("CPU y without argmax", twin_alone, twin, kExact);
      }
    }
  }
}

// dx is prefilled with NaN: every input must be written, zero where no window took it. With
// stride < size one input can be the argmax of several windows and takes the sum of their dy.
void check_backward(bool ties) {
  for (const PoolGeometry& g : kGeometries) {
    const std::vector<float> x = random_input(g, ties, 5);
    const size_t outs = size_t(maxpool_out_count(g)), ins = size_t(maxpool_in_count(g));
    std::vector<float> y(outs), dy(outs), twin(ins);
    std::vector<int32_t> argmax(outs);
    cpu::maxpool_forward(g, x.data(), y.data(), argmax.data());
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float& v : dy) v = dist(rng);
    cpu::maxpool_backward(g, dy.data(), argmax.data(), twin.data());
    std::vector<double> sums(ins, 0.0);
    const size_t in_plane = size_t(g.h) * g.w, out_plane = size_t(g.out_h()) * g.out_w();
    for (size_t o = 0; o < outs; ++o) sums[o / out_plane * in_plane + size_t(argmax[o])] += dy[o];
    const std::vector<float> ref(sums.begin(), sums.end());
    for (int block : kBlockSizes) {
      SCOPED_TRACE(testing::Message() << g.h << "x" << g.w << " size " << g.size << " stride " << g.stride << " block "
                                      << block);
      std::vector<float> dx(ins, NAN);
      simt::launch(maxpool_backward_grid(g, block), dim3(unsigned(block)), maxpool_backward_kernel, g, dy.data(),
                   argmax.data(), dx.data());
      expect_close("dx", dx, twin, kExact);
      expect_close("dx", dx, ref, {1e-6, 1e-6});  // float sums of up to 9 values against double
    }
  }
}

TEST(MaxpoolSimt, BackwardWritesAllOfDxAndMatchesCpuTwinAndReference) { check_backward(false); }
TEST(MaxpoolSimt, BackwardWithTiesWritesAllOfDxAndMatchesCpuTwinAndReference) { check_backward(true); }

}  // namespace
}  // namespace hdr

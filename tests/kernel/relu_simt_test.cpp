// The ReLU, bias add and bias gradient kernels (kernels/relu.cuh) through the CUDA emulation, at
// several block sizes on odd sizes, against the CPU twin and plain loops. ReLU and bias add are
// one float operation per element, so they must match exactly; the bias gradient sums in another
// order than the twin's row loop, so it is compared with a tolerance (and must repeat bit for bit).
#include "kernels/simt_host.h"
// simt_host.h first: it enables the __global__ kernels of the .cuh.
#include "kernels/relu.cuh"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/verify/compare.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

// Reproducible values in [-1, 1), every 7th exactly zero (the ReLU's edge).
std::vector<float> make_values(size_t count, uint32_t seed) {
  std::vector<float> values(count);
  for (size_t k = 0; k < count; ++k) {
    seed = seed * 1664525u + 1013904223u;
    values[k] = k % 7 == 0 ? 0.0f : float(seed >> 8) / 8388608.0f - 1.0f;
  }
  return values;
}

constexpr int64_t kCount = 845;

TEST(ReluSimt, ForwardAndBackwardMatchCpuTwinExactly) {
  const auto x = make_values(kCount, 1), dy = make_values(kCount, 2);
  std::vector<float> want_y(kCount), want_dx(kCount), plain_y(kCount), plain_dx(kCount);
  cpu::relu_forward(kCount, x.data(), want_y.data());
  for (size_t k = 0; k < x.size(); ++k) plain_y[k] = x[k] > 0 ? x[k] : 0.0f;
  cpu::relu_backward(kCount, want_y.data(), dy.data(), want_dx.data());
  for (size_t k = 0; k < x.size(); ++k) plain_dx[k] = x[k] > 0 ? dy[k] : 0.0f;
  for (int block : {32, 50, 96, 256}) {
    // The .cuh grid, and a 3-block grid whose threads stride over several elements each.
    for (dim3 grid : {elementwise_grid(kCount, block), dim3(3)}) {
      std::vector<float> y(kCount, -9.0f), dx(kCount, -9.0f);
      simt::launch(grid, dim3(unsigned(block)), relu_forward_kernel, kCount, x.data(), y.data());
      simt::launch(grid, dim3(unsigned(block)), relu_backward_kernel, kCount, y.data(), dy.data(), dx.data());
      EXPECT_TRUE(compare(y, want_y, Tolerance{0, 0}).ok()) << "block " << block << " grid " << grid.x;
      EXPECT_TRUE(compare(y, plain_y, Tolerance{0, 0}).ok()) << "block " << block << " grid " << grid.x;
      EXPECT_TRUE(compare(dx, want_dx, Tolerance{0, 0}).ok()) << "block " << block << " grid " << grid.x;
      EXPECT_TRUE(compare(dx, plain_dx, Tolerance{0, 0}).ok()) << "block " << block << " grid " << grid.x;
    }
  }
}

TEST(ReluSimt, BiasAddMatchesCpuTwinExactly) {
  const int rows = 13, cols = 65;
  const auto y0 = make_values(size_t(rows) * cols, 3), bias = make_values(cols, 4);
  std::vector<float> want_cpu = y0, want_plain = y0;
  cpu::bias_add(rows, cols, bias.data(), want_cpu.data());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) want_plain[size_t(r) * cols + size_t(c)] += bias[size_t(c)];
  for (int block : {32, 50, 96, 256}) {
    for (dim3 grid : {elementwise_grid(int64_t(rows) * cols, block), dim3(2)}) {
      std::vector<float> y = y0;
      simt::launch(grid, dim3(unsigned(block)), bias_add_kernel, rows, cols, bias.data(), y.data());
      EXPECT_TRUE(compare(y, want_cpu, Tolerance{0, 0}).ok()) << "block " << block << " grid " << grid.x;
      EXPECT_TRUE(compare(y, want_plain, Tolerance{0, 0}).ok()) << "block " << block << " grid " << grid.x;
    }
  }
}

TEST(ReluSimt, BiasGradMatchesCpuTwinAndDoubleLoop) {
  for (auto [rows, cols] : {std::pair{37, 45}, std::pair{130, 5}, std::pair{3, 70}, std::pair{0, 7}}) {
    const auto dy = make_values(size_t(rows) * cols, 5);
    std::vector<float> want_cpu(static_cast<size_t>(cols)), want_plain(static_cast<size_t>(cols));
    cpu::bias_grad(rows, cols, dy.data(), want_cpu.data());
    for (int c = 0; c < cols; ++c) {
      double sum = 0;
      for (int r = 0; r < rows; ++r) sum += dy[size_t(r) * cols + size_t(c)];
      want_plain[size_t(c)] = float(sum);
    }
    // The launcher's tiles (32 columns x block / 32 row lanes), and odd tiles the kernel also allows.
    for (dim3 block : {bias_grad_block(32), bias_grad_block(96), bias_grad_block(256), dim3(5, 7), dim3(1, 1)}) {
      const dim3 grid = bias_grad_grid(cols, block);
      std::vector<float> db(static_cast<size_t>(cols) + 1, -9.0f), again = db;  // one guard value
      simt::launch(grid, block, bias_grad_kernel, rows, cols, dy.data(), db.data());
      simt::launch(grid, block, bias_grad_kernel, rows, cols, dy.data(), again.data());
      EXPECT_EQ(db.back(), -9.0f) << "wrote past cols";
      db.pop_back();
      again.pop_back();
      EXPECT_TRUE(compare(db, again, Tolerance{0, 0}).ok()) << "not deterministic";
      const Comparison vs_cpu = compare(db, want_cpu), vs_plain = compare(db, want_plain);
      EXPECT_TRUE(vs_cpu.ok()) << rows << "x" << cols << " block " << block.x << "x" << block.y << ": "
                               << vs_cpu.summary();
      EXPECT_TRUE(vs_plain.ok()) << rows << "x" << cols << " block " << block.x << "x" << block.y << ": "
                                 << vs_plain.summary();
    }
  }
}

}  // namespace
}  // namespace hdr

// The fused conv-block kernels of kernels/bn_relu_maxpool.cuh through the CUDA emulation,
// against the unfused kernels they replace (bn_relu then maxpool forward; maxpool backward then
// bn_relu backward), run the same way: the fused ones compute each value with the same element
// math, so every output must be equal bit for bit, argmax included. Planes that the windows do
// not tile (13 x 13 by 2: the last row and column are in no window) and overlapping windows
// (size 3, stride 2) included; every activation; block sizes with partial warps; the
// reductions over 3 slices per channel.
#include "tests/kernel/bn_relu_emulated.h"
// bn_relu_emulated.h first: it includes simt_host.h, which enables the kernels of the .cuh.
#include "kernels/bn_relu_maxpool.cuh"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "engine/verify/compare.h"
#include "tests/kernel/test_values.h"

namespace hdr {
namespace {

struct Block {
  int n, c, hw, size, stride;
};
constexpr Block kBlocks[] = {{3, 5, 13, 2, 2}, {2, 4, 26, 2, 2}, {3, 5, 13, 3, 2}};
constexpr BnActivation kActivations[] = {BnActivation::kNone, BnActivation::kReluAfter, BnActivation::kReluBefore};
constexpr int kBlockSizes[] = {32, 96, 256};
constexpr int kParts = 3;

struct Inputs {
  BatchNormGeometry g;
  PoolGeometry p;
  std::vector<float> x, gamma, beta, running_mean, running_var, dy;
};

Inputs inputs(const Block& b, BnActivation act) {
  Inputs in;
  in.g.n = b.n, in.g.c = b.c, in.g.spatial = b.hw * b.hw, in.g.activation = act;
  in.p.n = b.n, in.p.c = b.c, in.p.h = in.p.w = b.hw, in.p.size = b.size, in.p.stride = b.stride;
  const size_t count = size_t(b.n) * b.c * b.hw * b.hw, c = size_t(b.c);
  in.x = test::make_values(count, 0.0f, 3.0f, 11, true);
  in.gamma = test::make_values(c, 0.5f, 1.5f, 12, false);
  in.beta = test::make_values(c, 0.0f, 0.5f, 13, true);
  in.running_mean = test::make_values(c, 0.0f, 0.1f, 14, true);
  in.running_var = test::make_values(c, 0.5f, 1.5f, 15, false);
  in.dy = test::make_values(size_t(maxpool_out_count(in.p)), 0.0f, 1.0f, 16, true);
  return in;
}

std::string name(const Inputs& in, int block) {
  return fmt::format("n{} c{} {}x{} pool {}/{} activation {} block {}", in.g.n, in.g.c, in.p.h, in.p.w, in.p.size,
                     in.p.stride, int(in.g.activation), block);
}

void expect_same(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  const Comparison c = compare(got, want, Tolerance{0, 0});
  EXPECT_TRUE(c.ok()) << what << ": " << c.summary();
}

// One test per geometry and activation, so that ctest spreads the emulated launches (a minute
// of them in all) over the cores.
class BnReluMaxpoolSimt : public ::testing::TestWithParam<std::tuple<Block, BnActivation>> {};

std::string case_name(const ::testing::TestParamInfo<BnReluMaxpoolSimt::ParamType>& info) {
  const auto& [b, act] = info.param;
  return fmt::format("n{}c{}_{}x{}_pool{}by{}_activation{}", b.n, b.c, b.hw, b.hw, b.size, b.stride, int(act));
}

// The training forward and the backward, unfused and fused, from the same statistics.
TEST_P(BnReluMaxpoolSimt, TrainingForwardAndBackwardEqualTheUnfusedKernels) {
  const auto& [b, act] = GetParam();
  for (int block : kBlockSizes) {
    Inputs in = inputs(b, act);
    const std::string at = name(in, block);
    const size_t count = in.x.size(), c = size_t(in.g.c), outs = in.dy.size();
    const dim3 threads{unsigned(block)};
    std::vector<float> mean(c), inv_std(c), rm = in.running_mean, rv = in.running_var;
    test::emulated_stats(in.g, block, kParts, in.x.data(), rm.data(), rv.data(), mean.data(), inv_std.data());

    std::vector<float> bn_out(count), y_ref(outs), y(outs, -1.0f);
    std::vector<int32_t> argmax_ref(outs), argmax(outs, -1);
    simt::launch(bn_relu_element_grid(in.g, block), threads, bn_relu_apply_kernel, in.g, in.x.data(), in.gamma.data(),
                 in.beta.data(), mean.data(), inv_std.data(), bn_out.data());
    simt::launch(maxpool_forward_grid(in.p, block), threads, maxpool_forward_kernel, in.p, bn_out.data(), y_ref.data(),
                 argmax_ref.data());
    simt::launch(maxpool_forward_grid(in.p, block), threads, bn_relu_maxpool_apply_kernel, in.g, in.p, in.x.data(),
                 in.gamma.data(), in.beta.data(), mean.data(), inv_std.data(), y.data(), argmax.data());
    expect_same(y, y_ref, fmt::format("forward y, {}", at));
    EXPECT_EQ(argmax, argmax_ref) << "forward argmax, " << at;

    std::vector<float> d_bn_out(count, -1.0f), dgamma_ref(c), dbeta_ref(c), dx_ref(count);
    simt::launch(maxpool_backward_grid(in.p, block), threads, maxpool_backward_kernel, in.p, in.dy.data(),
                 argmax_ref.data(), d_bn_out.data());
    test::emulated_grad_sums(in.g, block, kParts, dgamma_ref.data(), dbeta_ref.data(), bn_relu_grad_partial_kernel,
                             in.x.data(), d_bn_out.data(), in.gamma.data(), in.beta.data(), mean.data(),
                             inv_std.data());
    simt::launch(bn_relu_element_grid(in.g, block), threads, bn_relu_input_grad_kernel, in.g, in.x.data(),
                 d_bn_out.data(), in.gamma.data(), in.beta.data(), mean.data(), inv_std.data(), dgamma_ref.data(),
                 dbeta_ref.data(), dx_ref.data());

    std::vector<float> dgamma(c, -1.0f), dbeta(c, -1.0f), dx(count, -1.0f);
    test::emulated_grad_sums(in.g, block, kParts, dgamma.data(), dbeta.data(), bn_relu_maxpool_grad_partial_kernel,
                             in.p, in.x.data(), in.dy.data(), argmax.data(), in.gamma.data(), in.beta.data(),
                             mean.data(), inv_std.data());
    simt::launch(bn_relu_element_grid(in.g, block), threads, bn_relu_maxpool_input_grad_kernel, in.g, in.p, in.x.data(),
                 in.dy.data(), argmax.data(), in.gamma.data(), in.beta.data(), mean.data(), inv_std.data(),
                 dgamma.data(), dbeta.data(), dx.data());
    expect_same(dgamma, dgamma_ref, fmt::format("dgamma, {}", at));
    expect_same(dbeta, dbeta_ref, fmt::format("dbeta, {}", at));
    expect_same(dx, dx_ref, fmt::format("dx, {}", at));
  }
}

TEST_P(BnReluMaxpoolSimt, InferenceEqualsTheUnfusedKernels) {
  const auto& [b, act] = GetParam();
  const int block = 96;
  Inputs in = inputs(b, act);
  const dim3 threads{unsigned(block)};
  const size_t outs = in.dy.size();
  std::vector<float> bn_out(in.x.size()), y_ref(outs), y(outs, -1.0f);
  std::vector<int32_t> argmax_ref(outs), argmax(outs, -1);
  std::vector<float> inv_std(size_t(in.g.c), NAN);
  simt::launch(bn_finish_grid(in.g, block), threads, bn_running_inv_std_kernel, in.g, in.running_var.data(),
               inv_std.data());
  simt::launch(bn_relu_element_grid(in.g, block), threads, bn_relu_infer_kernel, in.g, in.x.data(), in.gamma.data(),
               in.beta.data(), in.running_mean.data(), inv_std.data(), bn_out.data());
  simt::launch(maxpool_forward_grid(in.p, block), threads, maxpool_forward_kernel, in.p, bn_out.data(), y_ref.data(),
               argmax_ref.data());
  simt::launch(maxpool_forward_grid(in.p, block), threads, bn_relu_maxpool_infer_kernel, in.g, in.p, in.x.data(),
               in.gamma.data(), in.beta.data(), in.running_mean.data(), inv_std.data(), y.data(), argmax.data());
  expect_same(y, y_ref, fmt::format("inference y, {}", name(in, block)));
  EXPECT_EQ(argmax, argmax_ref) << name(in, block);
  std::vector<float> y_alone(outs, -1.0f);  // without argmax, as at inference: the same y
  simt::launch(maxpool_forward_grid(in.p, block), threads, bn_relu_maxpool_infer_kernel, in.g, in.p, in.x.data(),
               in.gamma.data(), in.beta.data(), in.running_mean.data(), inv_std.data(), y_alone.data(), nullptr);
  expect_same(y_alone, y_ref, fmt::format("inference y without argmax, {}", name(in, block)));
}

INSTANTIATE_TEST_SUITE_P(Geometries, BnReluMaxpoolSimt,
                         ::testing::Combine(::testing::ValuesIn(kBlocks), ::testing::ValuesIn(kActivations)),
                         case_name);

}  // namespace
}  // namespace hdr

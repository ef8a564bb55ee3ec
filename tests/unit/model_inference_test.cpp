// Model::forward at inference runs the first block (a convolution into batch norm + ReLU + max
// pooling) as one backend op, conv_bn_relu_maxpool_forward_infer, which the CPU backend computes
// tile by tile on blocked layouts (OneChannelConv::forward_through), never storing the
// convolution's output. On cnn_bn: the logits of the same model whose backend runs the two ops
// one after the other, bit for bit where both take the hand-written convolution (nChw8c: AVX2,
// and these tests under the avx2. prefix); on nChw16c the two ops take oneDNN's, whose sums run
// in another order.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "engine/backends/device_array.h"
#include "engine/io/config.h"
#include "engine/nn/model.h"
#include "engine/profile/profiling_backend.h"

namespace hdr {
namespace {

// The backend it wraps, but the first block's inference forward always in its two ops.
class FirstBlockInParts final : public ProfilingBackend {
 public:
  using ProfilingBackend::ProfilingBackend;

 protected:
  void do_conv_bn_relu_maxpool_forward_infer(const ConvBnReluMaxpoolForwardInferArgs& a) override {
    conv_bn_relu_maxpool_forward_infer_in_parts(a);
  }
};

std::vector<float> test_images(int count) {
  std::vector<float> images(size_t(count) * 28 * 28);
  for (size_t i = 0; i < images.size(); ++i) images[i] = float(i * 37 % 256) / 255.0f;
  return images;
}

TEST(ModelInference, TheFirstBlockInOneOpGivesTheLogitsOfItsTwoOps) {
  constexpr int kImages = 5;
  const Config config = default_config();  // cnn_bn: 32 filters, whole groups for the hand-written convolution
  const std::unique_ptr<Backend> cpu = make_cpu_backend(2);
  FirstBlockInParts in_parts(*cpu);
  Model one_op(config.model, *cpu, kImages), two_ops(config.model, in_parts, kImages);
  one_op.initialize(7);
  // Every weight moved off its initial value (the biases and betas off 0), the same in both.
  Model::Snapshot weights = one_op.snapshot();
  for (size_t i = 0; i < weights.values.size(); ++i) weights.values[i] += 0.01f * float(int(i % 7) - 3);
  one_op.restore(weights);
  two_ops.restore(weights);
  DeviceArray<float> x(*cpu, size_t(kImages) * 28 * 28);
  x.upload(test_images(kImages));
  std::vector<std::vector<float>> logits;
  for (Model* model : {&one_op, &two_ops}) {
    Backend& backend = model == &one_op ? *cpu : static_cast<Backend&>(in_parts);
    // A training step's forward first, which moves the running statistics off 0 and 1.
    model->forward(Pass{backend, kImages, true, RandomKey{}, 0}, x.data());
    const float* out = model->forward(Pass{backend, kImages, false, RandomKey{}, 0}, x.data());
    logits.emplace_back(size_t(kImages) * 10);
    cpu->download(logits.back().data(), out, logits.back().size() * sizeof(float));
  }
  ASSERT_NE(logits[0], std::vector<float>(logits[0].size(), 0.0f));
  if (cpu->activation_layout(32, 26 * 26) == Layout::kNchw8c) {
    EXPECT_EQ(logits[0], logits[1]);
  } else {
    for (size_t i = 0; i < logits[0].size(); ++i) EXPECT_NEAR(logits[0][i], logits[1][i], 1e-5f) << i;
  }
}

// The CPU backend's op on cnn_bn's first block in its own layout: the pooled output without ever
// writing the convolution's (conv.y keeps what it held), in either block width.
TEST(ModelInference, TheCpuBackendRunsTheFirstBlockWithoutStoringTheConvolution) {
  constexpr int kImages = 3, kSide = 26, kFilters = 32;
  const std::unique_ptr<Backend> cpu = make_cpu_backend(2);
  ConvGeometry conv;
  conv.n = kImages, conv.c = 1, conv.h = conv.w = 28, conv.k = kFilters, conv.kh = conv.kw = 3;
  BatchNormGeometry bn;
  bn.n = kImages, bn.c = kFilters, bn.spatial = kSide * kSide, bn.activation = BnActivation::kReluBefore;
  const PoolGeometry pool{kImages, kFilters, kSide, kSide, 2, 2};
  const size_t out = size_t(kImages) * kFilters * kSide * kSide, pooled = out / 4;
  std::vector<float> w(kFilters * 9), bias(kFilters), gamma(kFilters), beta(kFilters), mean(kFilters), var(kFilters);
  for (int k = 0; k < kFilters; ++k) {
    bias[size_t(k)] = 0.01f * float(k % 5), gamma[size_t(k)] = 1.0f + 0.02f * float(k % 3);
    beta[size_t(k)] = -0.1f, mean[size_t(k)] = 0.05f, var[size_t(k)] = 0.5f;
    for (int t = 0; t < 9; ++t) w[size_t(k * 9 + t)] = std::sin(float(k * 9 + t));
  }
  const std::vector<float> sentinel(out, 7.0f);
  DeviceArray<float> x(*cpu, size_t(kImages) * 28 * 28), weights(*cpu, w.size()), b(*cpu, bias.size()),
      g(*cpu, gamma.size()), bt(*cpu, beta.size()), m(*cpu, mean.size()), v(*cpu, var.size()), conv_out(*cpu, out),
      y(*cpu, pooled);
  DeviceArray<int32_t> argmax(*cpu, pooled);
  x.upload(test_images(kImages));
  weights.upload(w), b.upload(bias), g.upload(gamma), bt.upload(beta), m.upload(mean), v.upload(var);
  conv_out.upload(sentinel);
  const Layout layout = cpu->activation_layout(kFilters, bn.spatial);
  ASSERT_NE(layout, Layout::kNchw);
  cpu->conv_bn_relu_maxpool_forward_infer(
      {.conv = {.g = conv, .x = x.data(), .w = weights.data(), .bias = b.data(), .y = conv_out.data()},
       .block = {.bn = bn,
                 .pool = pool,
                 .layout = layout,
                 .x = conv_out.data(),
                 .gamma = g.data(),
                 .beta = bt.data(),
                 .running_mean = m.data(),
                 .running_var = v.data(),
                 .y = y.data(),
                 .argmax = argmax.data()}});
  EXPECT_EQ(conv_out.to_host(), sentinel) << "the convolution's output was written: the op ran in two parts";
  const std::vector<float> pooled_values = y.to_host();
  EXPECT_NE(pooled_values, std::vector<float>(pooled, 0.0f));
}

}  // namespace
}  // namespace hdr

// Model::forward at inference runs the first block (a convolution into batch norm + ReLU + max
// pooling) as one backend op, conv_bn_relu_maxpool_forward_infer, which the CPU backend computes
// tile by tile on AVX2 (under the avx2. prefix; elsewhere it runs the two ops): the same logits,
// bit for bit, as the same model whose backend runs the two ops one after the other. On cnn_bn.
#include <gtest/gtest.h>

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

TEST(ModelInference, TheFirstBlockInOneOpGivesTheLogitsOfItsTwoOps) {
  constexpr int kImages = 5;
  const Config config = default_config();  // cnn_bn: 32 filters, whole groups for the hand-written convolution
  const std::unique_ptr<Backend> cpu = make_cpu_backend(2);
  FirstBlockInParts in_parts(*cpu);
  Model one_op(config.model, *cpu, kImages), two_ops(config.model, in_parts, kImages);
  one_op.initialize(7);
  two_ops.initialize(7);
  std::vector<float> images(size_t(kImages) * 28 * 28);
  for (size_t i = 0; i < images.size(); ++i) images[i] = float(i * 37 % 256) / 255.0f;
  DeviceArray<float> x(*cpu, images.size());
  x.upload(images);
  std::vector<std::vector<float>> logits;
  for (Model* model : {&one_op, &two_ops}) {
    Backend& backend = model == &one_op ? *cpu : static_cast<Backend&>(in_parts);
    // A training step's forward first, so that the running statistics are the batch's, not 0 and 1.
    model->forward(Pass{backend, kImages, true, RandomKey{}, 0}, x.data());
    const float* out = model->forward(Pass{backend, kImages, false, RandomKey{}, 0}, x.data());
    logits.emplace_back(size_t(kImages) * 10);
    cpu->download(logits.back().data(), out, logits.back().size() * sizeof(float));
  }
  EXPECT_EQ(logits[0], logits[1]);
  EXPECT_NE(logits[0], std::vector<float>(logits[0].size(), 0.0f));
}

}  // namespace
}  // namespace hdr

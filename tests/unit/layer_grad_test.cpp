// Numerical gradient checks of every layer's backward, through whole (tiny) models: the
// analytic gradient of each trainable parameter against central finite differences of the mean
// softmax cross-entropy. A layer under test sits after a parameterised layer, so the
// parameters upstream of it see its backward pass (pooling, dropout, batch norm, ReLU, flatten).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/io/config.h"
#include "engine/nn/model.h"

namespace hdr {
namespace {

constexpr int kBatch = 4;

ModelSpec spec_of(const std::string& layers_ini) {
  return parse_config("[model]\nname = grad\ninput = 7x7x2\nclasses = 3\n" + layers_ini, "<grad test>").model;
}

// Mean loss of the batch, in double, with the model in training mode (batch statistics,
// dropout on: the mask is a pure function of the key, so every evaluation sees the same one).
double loss_of(Model& model, Backend& backend, const std::vector<float>& x, const std::vector<uint8_t>& labels,
               std::vector<float>* dlogits = nullptr) {
  const Pass pass{backend, kBatch, true, RandomKey{99, 3, 0}, 17};
  const float* logits = model.forward(pass, x.data());
  std::vector<float> d(size_t(kBatch) * model.classes());
  double metrics[2] = {0, 0};
  backend.softmax_xent({.n = kBatch,
                        .classes = model.classes(),
                        .logits = logits,
                        .labels = labels.data(),
                        .smoothing = 0.0f,
                        .dlogits = d.data(),
                        .metrics = metrics});
  if (dlogits) *dlogits = d;
  return metrics[0] / kBatch;
}

void expect_gradients_match(const std::string& layers_ini) {
  auto backend = make_cpu_backend(1);
  Model model(spec_of(layers_ini), *backend, kBatch);
  model.initialize(5);
  std::vector<float> x(size_t(kBatch) * model.input_shape().size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * float(i)) + 0.1f * float(i % 5);
  const std::vector<uint8_t> labels{0, 2, 1, 2};

  std::vector<float> dlogits;
  loss_of(model, *backend, x, labels, &dlogits);
  const Pass pass{*backend, kBatch, true, RandomKey{99, 3, 0}, 17};
  model.backward(pass, x.data(), dlogits.data());
  size_t total = 0;
  for (const ParamSegment& s : model.segments()) total = std::max(total, s.offset + s.size);
  const std::vector<float> analytic(model.grads(), model.grads() + total);
  // The CPU backend's memory is host memory: perturb the weights in place.
  float* w = model.values();
  const Model::Snapshot clean = model.snapshot();  // batch-norm moving statistics change per forward
  // Central differences at steps h, h/2 and h/4: where they disagree, a ReLU or max-pool kink
  // lies within the step and the difference says nothing; such elements are skipped, but they
  // must stay few.
  auto numeric_at = [&](size_t i, float h) {
    const float saved = w[i];
    w[i] = saved + h;
    const double up = loss_of(model, *backend, x, labels);
    w[i] = saved - h;
    const double down = loss_of(model, *backend, x, labels);
    w[i] = saved;
    model.restore(clean);
    return (up - down) / (2.0 * double(h));
  };
  auto tolerance = [](double value) { return 2e-3 + 2e-2 * std::fabs(value); };
  size_t checked = 0, kinks = 0;
  for (size_t i = 0; i < total; ++i) {
    const float h = 1e-3f * std::max(1.0f, std::fabs(w[i]));
    const double coarse = numeric_at(i, h), fine = numeric_at(i, h / 2), finer = numeric_at(i, h / 4);
    if (std::fabs(coarse - finer) > tolerance(finer) / 4 || std::fabs(fine - finer) > tolerance(finer) / 4) {
      ++kinks;
      continue;
    }
    EXPECT_NEAR(analytic[i], finer, tolerance(finer)) << "parameter element " << i;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
  EXPECT_LE(kinks, total / 20) << kinks << " of " << total << " elements straddle a kink";
}

const char* const kOutput = "[layer.out]\ntype = dense\nunits = 3\nactivation = softmax\n";

TEST(LayerGradient, Conv2DValidAndSameWithRelu) {
  expect_gradients_match("[layer.c1]\ntype = conv2d\nfilters = 3\nkernel = 3\nactivation = relu\n"
                         "[layer.c2]\ntype = conv2d\nfilters = 2\nkernel = 3\npadding = same\nstride = 2\n"
                         "[layer.f]\ntype = flatten\n" +
                         std::string(kOutput));
}

TEST(LayerGradient, DenseWithRelu) {
  expect_gradients_match("[layer.f]\ntype = flatten\n[layer.d]\ntype = dense\nunits = 5\nactivation = relu\n" +
                         std::string(kOutput));
}

TEST(LayerGradient, BatchNormEveryOrder) {
  // conv -> relu -> bn (folded, seed 000's order), bn with relu after, dense -> bn.
  expect_gradients_match(
      "[layer.c1]\ntype = conv2d\nfilters = 3\nkernel = 3\nactivation = relu\n[layer.bn1]\ntype = batchnorm\n"
      "[layer.c2]\ntype = conv2d\nfilters = 2\nkernel = 3\n[layer.bn2]\ntype = batchnorm\nactivation = relu\n"
      "[layer.f]\ntype = flatten\n[layer.d]\ntype = dense\nunits = 4\n[layer.bn3]\ntype = batchnorm\n" +
      std::string(kOutput));
}

TEST(LayerGradient, MaxPool) {
  expect_gradients_match("[layer.c1]\ntype = conv2d\nfilters = 2\nkernel = 2\n[layer.p]\ntype = maxpool\nsize = 2\n"
                         "[layer.f]\ntype = flatten\n" +
                         std::string(kOutput));
}

TEST(LayerGradient, DropoutAndStandaloneRelu) {
  expect_gradients_match(
      "[layer.c1]\ntype = conv2d\nfilters = 2\nkernel = 3\n[layer.r]\ntype = relu\n[layer.drop]\ntype = dropout\n"
      "rate = 0.4\n[layer.f]\ntype = flatten\n" +
      std::string(kOutput));
}

// 16 channels: on the CPU backend these activations live in nChw16c or nChw8c (kernels/cpu/blocked.h), so
// this checks the blocked batch norm, pooling, dropout and flatten end to end.
TEST(LayerGradient, SixteenChannelBlockedLayout) {
  expect_gradients_match(
      "[layer.c1]\ntype = conv2d\nfilters = 16\nkernel = 3\nactivation = relu\n[layer.bn1]\ntype = batchnorm\n"
      "[layer.p]\ntype = maxpool\nsize = 2\n[layer.drop]\ntype = dropout\nrate = 0.3\n"
      "[layer.f]\ntype = flatten\n" +
      std::string(kOutput));
}

}  // namespace
}  // namespace hdr

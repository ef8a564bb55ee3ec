// Model::prepare: the backend's plans (here oneDNN's convolution primitives) are made before the
// first step, so that training steps, partial batches and evaluation create none; and only what
// runs is planned (inference: forward only; the first layer: no backward-data).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

#include "engine/config.h"
#include "engine/dataset.h"
#include "engine/device_array.h"
#include "engine/model.h"
#include "engine/trainer.h"

namespace hdr {
namespace {

// Two convolutions, so that one of them computes an input gradient.
constexpr const char* kTwoConvIni = R"([model]
name = two_conv
input = 28x28x1
classes = 10
[layer.conv1]
type = conv2d
filters = 4
kernel = 3
activation = relu
[layer.bn]
type = batchnorm
[layer.pool]
type = maxpool
size = 2
[layer.conv2]
type = conv2d
filters = 4
kernel = 3
activation = relu
[layer.flat]
type = flatten
[layer.out]
type = dense
units = 10
activation = softmax
[train]
batch_size = 4
)";

constexpr int kImages = 10;  // 2 full batches of 4 and a partial one of 2

LabelledImages some_images() {
  LabelledImages set;
  set.num_classes = 10;
  set.images.count = kImages, set.images.rows = 28, set.images.cols = 28;
  set.images.pixels.resize(size_t(kImages) * 28 * 28);
  for (size_t i = 0; i < set.images.pixels.size(); ++i) set.images.pixels[i] = uint8_t(i * 37 % 256);
  for (int i = 0; i < kImages; ++i) set.labels.push_back(uint8_t(i % 10));
  return set;
}

struct Fixture {
  Config config = parse_config(kTwoConvIni, "<two_conv>");
  std::unique_ptr<Backend> backend = make_cpu_backend(1);
  DeviceImages data{*backend, some_images()};
  Model model{config.model, *backend, config.train.batch_size};
  TrainStep step{model, *backend, config};
  DeviceArray<double> metrics{*backend, 2};

  Fixture() {
    model.initialize(3);
    metrics.zero();
  }
  // An epoch's steps (the last one partial), then an evaluation in batches of 4.
  void train_and_evaluate() {
    const int batch = config.train.batch_size;
    for (int first = 0; first < kImages; first += batch)
      step.run(data, data.rows.data() + first, std::min(batch, kImages - first), 0, first, 0.01f, metrics.data());
    evaluate(model, *backend, data, scaling_only(config.data), KeepProbabilities::kNo, batch);
  }
};

TEST(ModelPrepare, StepsAndEvaluationOfAPreparedModelPlanNothing) {
  Fixture f;
  f.model.prepare(4, true);
  f.model.prepare(kImages % 4, true);
  prepare_evaluation(f.model, kImages, 4);
  // Batches of 4 and 2: conv1 forward + backward-weights, conv2 those and backward-data; training
  // and inference share the forward primitives.
  EXPECT_EQ(f.backend->plan_count(), 2u * 5u);
  f.train_and_evaluate();
  EXPECT_EQ(f.backend->plan_count(), 2u * 5u);
}

// What the test above guards against: without prepare(), the first step and the partial batch
// plan inside the loop.
TEST(ModelPrepare, AnUnpreparedModelPlansInsideItsSteps) {
  Fixture f;
  EXPECT_EQ(f.backend->plan_count(), 0u);
  f.train_and_evaluate();
  EXPECT_EQ(f.backend->plan_count(), 2u * 5u);
}

TEST(ModelPrepare, InferencePlansTheForwardPassOnly) {
  Fixture f;
  f.model.prepare(4, false);
  EXPECT_EQ(f.backend->plan_count(), 2u);
  f.model.prepare(0, false);  // an empty batch plans nothing
  EXPECT_EQ(f.backend->plan_count(), 2u);
  EXPECT_THROW(f.model.prepare(5, false), std::logic_error);  // past the model's max_batch
}

}  // namespace
}  // namespace hdr

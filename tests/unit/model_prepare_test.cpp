// Model::prepare: the backend's plans (here oneDNN's convolution primitives) are made before the
// first step, so that training steps, partial batches and evaluation create none; and only what
// runs is planned (inference: forward only; the first layer: no backward-data).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

#include "engine/backends/device_array.h"
#include "engine/inference/evaluate.h"
#include "engine/io/config.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"
#include "engine/train/train_step.h"
#include "tests/two_conv_network.h"

namespace hdr {
namespace {

constexpr int kImages = 10;  // 2 full batches of 4 and a partial one of 2

struct Fixture {
  Config config = parse_config(test::kTwoConvIni, "<two_conv>");
  std::unique_ptr<Backend> backend = make_cpu_backend(1);
  DeviceImages data{*backend, test::two_conv_images(kImages)};
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

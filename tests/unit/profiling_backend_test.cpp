// ProfilingBackend and the op cost formulas: a profiled training step times every op under the
// layer (or part of the step) that ran it, once per step; evaluation and ops outside a scope run
// untimed; FLOPs and bytes follow the formulas, checked here by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

#include "engine/backends/device_array.h"
#include "engine/inference/evaluate.h"
#include "engine/io/config.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"
#include "engine/profile/op_cost.h"
#include "engine/profile/profiling_backend.h"
#include "engine/train/train_step.h"
#include "engine/train/trainer.h"
#include "tests/two_conv_network.h"

namespace hdr {
namespace {

constexpr int kImages = 12, kSteps = 3;

struct Fixture {
  Config config = parse_config(test::kTwoConvIni, "<profiled>");
  std::unique_ptr<Backend> cpu = make_cpu_backend(1);
  ProfilingBackend profiler{*cpu};
  DeviceImages data{profiler, test::two_conv_images(kImages)};
  Model model{config.model, profiler, config.train.batch_size};
  TrainStep step{model, profiler, config};
  DeviceArray<double> metrics{profiler, 2};

  Fixture() {
    model.initialize(3);
    metrics.zero();
  }
  void train() {
    for (int s = 0; s < kSteps; ++s) step.run(data, data.rows.data() + 4 * s, 4, 0, 4 * s, 0.01f, metrics.data());
  }
};

TEST(ProfilingBackend, TimesEveryOpOfTheStepUnderItsLayerOncePerStep) {
  Fixture f;
  f.step.attach_profile(&f.profiler);
  f.train();
  evaluate(f.model, f.profiler, f.data, scaling_only(f.config.data), KeepProbabilities::kYes, 4);
  EXPECT_EQ(f.profiler.steps(), kSteps);

  std::set<std::string> seen, rows;
  for (const OpRow& row : f.profiler.rows()) {
    const std::string name = row.scope + " / " + row.op;
    seen.insert(name);
    EXPECT_TRUE(rows.insert(name + " [" + row.shape + "]").second) << name << " has two rows of one shape";
    EXPECT_EQ(row.seconds.size(), size_t(kSteps)) << name;
    EXPECT_GT(row.cost.bytes, 0.0) << name;
  }
  const std::set<std::string> expected = {
      "data / augment",
      "data / gather_labels",
      "conv1 forward / conv_forward",
      "bn + pool forward / bn_relu_maxpool_forward_train",
      "conv2 forward / conv_forward",
      "conv2 forward / relu_forward",
      "flat forward / flatten_forward",
      "out forward / gemm",
      "out forward / bias_add",
      "loss / softmax_xent",
      "out backward / gemm",  // dW and dx: two shapes, one row each (the shape is in the row)
      "out backward / bias_grad",
      "flat backward / flatten_backward",
      "conv2 backward / relu_backward",
      "conv2 backward / conv_backward_weights",
      "conv2 backward / conv_backward_data",
      // the first layer (no input gradient) and the block after it: one op
      "conv1 + bn + pool backward / conv_bn_relu_maxpool_backward",
      "optimizer / optimizer_update",
  };
  EXPECT_EQ(seen, expected);  // and nothing of the evaluation (softmax, evaluate_batch, *_infer)
  EXPECT_EQ(f.profiler.rows().size(), expected.size() + 1);  // out backward's second gemm
}

TEST(ProfilingBackend, RowsCarryTheShapeAndTheFormulasCost) {
  Fixture f;
  f.step.attach_profile(&f.profiler);
  f.train();
  ConvGeometry conv2;  // 4 x 4 x 13 x 13 in, 4 filters of 3 x 3
  conv2.n = 4, conv2.c = 4, conv2.h = 13, conv2.w = 13, conv2.k = 4, conv2.kh = 3, conv2.kw = 3;
  const auto& rows = f.profiler.rows();
  const auto it = std::find_if(rows.begin(), rows.end(),
                               [](const OpRow& r) { return r.scope == "conv2 forward" && r.op == "conv_forward"; });
  ASSERT_NE(it, rows.end());
  EXPECT_EQ(it->shape, "4x4x13x13 * 4x4x3x3 s1 p0");
  EXPECT_DOUBLE_EQ(it->cost.flops, op_cost::conv_forward(conv2, true).flops);
  EXPECT_DOUBLE_EQ(it->cost.bytes, op_cost::conv_forward(conv2, true).bytes);
}

TEST(ProfilingBackend, OpsOutsideAScopeRunUntimed) {
  Fixture f;
  DeviceArray<float> a(f.profiler, 8), b(f.profiler, 12), c(f.profiler, 6);
  a.zero();
  b.zero();
  const GemmArgs gemm{.m = 2, .n = 3, .k = 4, .a = a.data(), .b = b.data(), .c = c.data()};
  f.profiler.gemm(gemm);
  EXPECT_TRUE(f.profiler.rows().empty());
  f.profiler.set_scope("by hand");
  f.profiler.gemm(gemm);
  f.profiler.gemm(gemm);
  f.profiler.end_step();
  f.profiler.gemm(gemm);  // the scope ended
  ASSERT_EQ(f.profiler.rows().size(), 1u);
  const OpRow& row = f.profiler.rows()[0];
  EXPECT_EQ(row.scope, "by hand");
  EXPECT_EQ(row.shape, "m2 n3 k4");
  EXPECT_EQ(row.seconds.size(), 2u);
  EXPECT_EQ(f.profiler.steps(), 1);
  f.profiler.clear();
  EXPECT_TRUE(f.profiler.rows().empty());
}

TEST(ProfilingBackend, AttachingAProfilerTheStepDoesNotRunOnIsRefused) {
  Fixture f;
  ProfilingBackend other(*f.cpu);
  EXPECT_THROW(f.step.attach_profile(&other), std::logic_error);
}

TEST(ProfilingBackend, PercentilesInterpolateBetweenCalls) {
  OpRow row;
  row.seconds = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(row.percentile(0.5), 2.5);
  EXPECT_DOUBLE_EQ(row.percentile(0.0), 1.0);
  EXPECT_DOUBLE_EQ(row.percentile(1.0), 4.0);
  EXPECT_DOUBLE_EQ(row.percentile(0.1), 1.3);
  EXPECT_DOUBLE_EQ(row.total_seconds(), 10.0);
}

// The formulas on shapes small enough to count by hand.
TEST(OpCost, GemmCountsMultiplyAddsAndEachMatrixOnce) {
  EXPECT_DOUBLE_EQ(op_cost::gemm(2, 3, 4, 0.0f).flops, 2.0 * 2 * 3 * 4);
  EXPECT_DOUBLE_EQ(op_cost::gemm(2, 3, 4, 0.0f).bytes, 4.0 * (8 + 12 + 6));
  EXPECT_DOUBLE_EQ(op_cost::gemm(2, 3, 4, 1.0f).bytes, 4.0 * (8 + 12 + 6 + 6));  // C read too
}

TEST(OpCost, ConvolutionCountsEveryTap) {
  ConvGeometry g;  // one 4x4 image, two 3x3 filters: a 2x2 output per filter
  g.n = 1, g.c = 1, g.h = 4, g.w = 4, g.k = 2, g.kh = 3, g.kw = 3;
  EXPECT_DOUBLE_EQ(op_cost::conv_forward(g, false).flops, 2.0 * 8 * 9);
  EXPECT_DOUBLE_EQ(op_cost::conv_forward(g, true).flops, 2.0 * 8 * 9 + 8);
  EXPECT_DOUBLE_EQ(op_cost::conv_forward(g, true).bytes, 4.0 * (16 + 18 + 8));
  EXPECT_DOUBLE_EQ(op_cost::conv_backward_data(g).bytes, 4.0 * (18 + 8 + 16));
  EXPECT_DOUBLE_EQ(op_cost::conv_backward_weights(g, false).flops, 2.0 * 8 * 9);
}

TEST(OpCost, ElementwiseAndOptimizer) {
  BatchNormGeometry bn;
  bn.n = 1, bn.c = 1, bn.spatial = 16;
  const PoolGeometry pool{1, 1, 4, 4, 2, 2};
  EXPECT_DOUBLE_EQ(op_cost::bn_relu_maxpool_forward(bn, pool, true).flops, 5.0 * 16 + 16);
  EXPECT_DOUBLE_EQ(op_cost::bn_relu_maxpool_forward(bn, pool, true).bytes, 4.0 * 16 + 8.0 * 4);  // y + argmax
  EXPECT_DOUBLE_EQ(op_cost::optimizer_update(OptimizerKind::kAdam, 10).bytes, 4.0 * 7 * 10);
  EXPECT_DOUBLE_EQ(op_cost::optimizer_update(OptimizerKind::kSgd, 10).bytes, 4.0 * 5 * 10);
  EXPECT_DOUBLE_EQ(op_cost::dropout(100).bytes, 4.0 * 2 * 100 + 100 / 8.0);  // x or dy in, y or dx out, a keep bit
  EXPECT_DOUBLE_EQ(op_cost::augment(2, 28, 28).bytes, 2.0 * 784 * 5 + 8);
  EXPECT_DOUBLE_EQ(op_cost::gather_labels(2).flops, 0.0);
}

}  // namespace
}  // namespace hdr

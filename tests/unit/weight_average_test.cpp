// The weight average of [train] ema (engine/weight_average): its decay warm-up, and that it
// averages every trainable value and batch-norm statistic of a real model as the formula says.
#include "engine/train/weight_average.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/io/config.h"
#include "tests/small_network.h"

namespace hdr {
namespace {

TEST(WeightAverageDecay, WarmsUpAsTensorFlowsNumUpdates) {
  EXPECT_FLOAT_EQ(average_decay(0.999f, 1), 2.0f / 11.0f);
  EXPECT_FLOAT_EQ(average_decay(0.999f, 90), 91.0f / 100.0f);
  // (1 + t) / (10 + t) passes 0.999 at t = 8991.
  EXPECT_FLOAT_EQ(average_decay(0.999f, 8990), float(8991.0 / 9000.0));
  EXPECT_FLOAT_EQ(average_decay(0.999f, 9000), 0.999f);
  EXPECT_FLOAT_EQ(average_decay(0.9f, 1000000), 0.9f);
}

TEST(WeightAverage, AveragesValuesAndStatisticsOfTheModel) {
  auto backend = make_cpu_backend(1);
  const Config config = parse_config(std::string(test::kSmallNetworkIni), "<small>");
  Model model(config.model, *backend, 4);
  model.initialize(3);
  const Model::Snapshot start = model.snapshot();
  ASSERT_FALSE(start.state.empty());  // the batch norm's moving statistics
  WeightAverage average(model, *backend, 0.99f);
  EXPECT_EQ(average.snapshot().values, start.values);  // starts at the model's weights

  // Two updates towards two other sets of weights, late in a run (decay = 0.99).
  std::vector<double> want_values(start.values.begin(), start.values.end()),
      want_state(start.state.begin(), start.state.end());
  for (int k = 1; k <= 2; ++k) {
    Model::Snapshot next = start;
    for (size_t i = 0; i < next.values.size(); ++i) next.values[i] = std::sin(float(i * k));
    for (size_t i = 0; i < next.state.size(); ++i) next.state[i] = 1.0f + float(k) * 0.5f;
    model.restore(next);
    average.update(100000);
    for (size_t i = 0; i < want_values.size(); ++i) want_values[i] = 0.99 * want_values[i] + 0.01 * next.values[i];
    for (size_t i = 0; i < want_state.size(); ++i) want_state[i] = 0.99 * want_state[i] + 0.01 * next.state[i];
  }
  const Model::Snapshot got = average.snapshot();
  for (size_t i = 0; i < want_values.size(); ++i) ASSERT_NEAR(got.values[i], want_values[i], 1e-6) << "value " << i;
  for (size_t i = 0; i < want_state.size(); ++i) ASSERT_NEAR(got.state[i], want_state[i], 1e-6) << "statistic " << i;
}

}  // namespace
}  // namespace hdr

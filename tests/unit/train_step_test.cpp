// TrainStep's observer (what `hdr selftest` compares between the GPU and the CPU): it sees the
// step's own logits and gradients, before the optimizer, and nothing once detached.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/backends/device_array.h"
#include "engine/io/config.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"
#include "engine/train/train_step.h"
#include "tests/small_network.h"

namespace hdr {
namespace {

class Recorder final : public StepObserver {
 public:
  explicit Recorder(Backend& backend) : backend_(backend) {}
  void logits(const float* device_logits, int n, int classes) override {
    ++calls;
    logit_values.resize(size_t(n) * size_t(classes));
    backend_.download(logit_values.data(), device_logits, logit_values.size() * sizeof(float));
  }
  void gradients(const float* device_grads, size_t count) override {
    ++calls;
    grads.resize(count);
    backend_.download(grads.data(), device_grads, count * sizeof(float));
  }
  int calls = 0;
  std::vector<float> logit_values, grads;

 private:
  Backend& backend_;
};

TEST(TrainStepObserver, SeesTheStepsLogitsAndGradientsBeforeTheUpdate) {
  auto backend = make_cpu_backend(1);
  const Config config = parse_config(std::string(test::kSmallNetworkIni), "<small>");
  const int n = config.train.batch_size, classes = config.model.classes;
  LabelledImages set;
  set.num_classes = classes;
  set.images.count = n, set.images.rows = 28, set.images.cols = 28;
  set.images.pixels.resize(size_t(n) * 28 * 28);
  for (size_t i = 0; i < set.images.pixels.size(); ++i) set.images.pixels[i] = uint8_t(i * 37 % 256);
  for (int i = 0; i < n; ++i) set.labels.push_back(uint8_t(i % classes));
  const DeviceImages data(*backend, set);
  Model model(config.model, *backend, n);
  model.initialize(5);
  TrainStep step(model, *backend, config);
  Recorder recorder(*backend);
  step.attach_observer(&recorder);
  DeviceArray<double> metrics(*backend, 2);
  metrics.zero();
  step.run(data, data.rows.data(), n, 0, 0, 0.01f, metrics.data());

  EXPECT_EQ(recorder.calls, 2);
  ASSERT_EQ(recorder.logit_values.size(), size_t(n) * classes);
  // The loss the step summed is the cross-entropy of the logits the observer saw.
  double loss = 0;
  for (int i = 0; i < n; ++i) {
    const float* row = recorder.logit_values.data() + size_t(i) * classes;
    const double top = *std::max_element(row, row + classes);
    double sum = 0;
    for (int k = 0; k < classes; ++k) sum += std::exp(row[k] - top);
    loss += top + std::log(sum) - row[set.labels[size_t(i)]];
  }
  EXPECT_NEAR(metrics.to_host()[0], loss, 1e-4 * loss);
  // The gradients are the model's own (the update reads them and leaves them as they are).
  std::vector<float> grads(size_t(model.counts().trainable));
  backend->download(grads.data(), model.grads(), grads.size() * sizeof(float));
  EXPECT_EQ(recorder.grads, grads);
  EXPECT_TRUE(std::any_of(grads.begin(), grads.end(), [](float g) { return g != 0.0f; }));

  step.attach_observer(nullptr);
  step.run(data, data.rows.data(), n, 0, 0, 0.01f, metrics.data());
  EXPECT_EQ(recorder.calls, 2);
}

}  // namespace
}  // namespace hdr

// The catalogue's training entry (engine/verify/backend_comparison.h): 20 steps of the default
// config through the trainer's own TrainStep on both backends.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/io/config.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"
#include "engine/train/train_step.h"
#include "engine/verify/backend_comparison.h"

namespace hdr::comparison {
namespace {

// --- 20 training steps of the default config ----------------------------------------------------

// The default config's first 1600 training images (1280 after the 20% validation split: 20
// batches of 64), or random images when the MNIST files are not there.
LabelledImages training_images(const BackendComparison& t, const Config& config) {
  if (MnistFiles(config.data.dir).all_present())
    return load_datasets(config.data, config.model, config.train.seed).train;
  t.log("training: {} lacks the MNIST files: random images instead\n", config.data.dir);
  Rng rng(7);
  LabelledImages set;
  set.num_classes = config.model.classes;
  set.images.count = 1280, set.images.rows = config.model.input_h, set.images.cols = config.model.input_w;
  set.images.pixels = rng.bytes(size_t(set.images.count) * set.images.rows * set.images.cols, 256);
  set.labels = rng.bytes(size_t(set.images.count), config.model.classes);
  return set;
}

// Keeps the logits and gradients of the first step it sees, downloaded from the device.
class FirstStep final : public StepObserver {
 public:
  explicit FirstStep(Backend& backend) : backend_(backend) {}
  void logits(const float* device_logits, int n, int classes) override {
    logits_.resize(size_t(n) * size_t(classes));
    backend_.download(logits_.data(), device_logits, logits_.size() * sizeof(float));
  }
  void gradients(const float* device_grads, size_t count) override {
    grads_.resize(count);
    backend_.download(grads_.data(), device_grads, count * sizeof(float));
  }
  const std::vector<float>& logits() const { return logits_; }
  const std::vector<float>& gradients() const { return grads_; }

 private:
  Backend& backend_;
  std::vector<float> logits_, grads_;
};

}  // namespace

// The trainer's own step (TrainStep) on both backends, from the same weights and batches.
void training(BackendComparison& t, Rng&) {
  const Config config = default_config({"data.train_limit=1600"});
  const TrainSpec& ts = config.train;
  const int steps = 20, batch = ts.batch_size;
  const LabelledImages images = training_images(t, config);

  struct Run {
    Run(Backend& be, const Config& c, const LabelledImages& set)
        : model(c.model, be, c.train.batch_size),
          data(be, set),
          order(be, size_t(set.count())),
          step(model, be, c),
          metrics(be, 2),
          first_step(be) {}
    Model model;
    DeviceImages data;
    DeviceArray<int32_t> order;
    TrainStep step;
    DeviceArray<double> metrics;
    FirstStep first_step;
  };
  Run gpu(t.gpu(), config, images), cpu(t.cpu(), config, images);
  const std::vector<int32_t> order = shuffled_indices(images.count(), RandomKey{ts.seed, 0, kStreamShuffle});
  for (Run* r : {&gpu, &cpu}) {
    r->model.initialize(ts.seed);
    r->order.upload(order);
    r->step.attach_observer(&r->first_step);
  }
  const std::string model_name = fmt::format("{} (batch {})", config.model.name, batch);
  t.check_values(model_name + " initial weights", "values", gpu.model.snapshot().values, cpu.model.snapshot().values,
                 kExact);

  // Each step's loss; step 1's logits and gradients (before any update) are kept.
  t.log("\n{:>4} {:>12} {:>12} {:>10}  {}\n", "step", "loss gpu", "loss cpu", "rel diff", "result");
  for (int step = 1; step <= steps; ++step) {
    const int first = ((step - 1) * batch) % images.count();
    const int n = std::min(batch, images.count() - first);
    float loss[2] = {};
    for (int side = 0; side < 2; ++side) {
      Run& r = side == 0 ? gpu : cpu;
      r.metrics.zero();
      r.step.run(r.data, r.order.data() + first, n, 0, first, ts.learning_rate, r.metrics.data());
      if (step == 1) r.step.attach_observer(nullptr);
      loss[side] = float(r.metrics.to_host()[0] / n);
    }
    const double rel = std::fabs(double(loss[0]) - loss[1]) / std::max(std::fabs(double(loss[1])), 1e-30);
    const bool ok = rel <= 1e-3;
    t.log("{:>4} {:>12.6f} {:>12.6f} {:>10.2g}  {}\n", step, loss[0], loss[1], rel, ok ? "ok" : "MISMATCH");
    t.count_check();
    if (!ok) t.fail(fmt::format("training step {}: loss {} on the GPU, {} on the CPU", step, loss[0], loss[1]));
  }
  t.log("\n");
  t.print_header();
  t.check_values(model_name + " step 1", "logits", gpu.first_step.logits(), cpu.first_step.logits(), kModelStep);
  t.check_tensors(model_name + " step 1", "gradient", gpu.model.trainable_tensors(gpu.first_step.gradients()),
                  cpu.model.trainable_tensors(cpu.first_step.gradients()), kModelStep);
  const std::string after = fmt::format("{} after {} steps", model_name, steps);
  const Model::Snapshot g = gpu.model.snapshot(), c = cpu.model.snapshot();
  const Comparison w = compare(g.values, c.values, Tolerance{5.0 * ts.learning_rate, 0});
  t.record(after, "weights", w);
  t.check_values(after, "bn statistics", g.state, c.state, kModelStep);
}

}  // namespace hdr::comparison

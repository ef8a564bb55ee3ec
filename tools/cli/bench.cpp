// `hdr bench [train|infer|kernels|all]`: throughput of the training step, inference and each
// piece of the step on real MNIST, with the machine's FP32 peak measured in the same run so
// GFLOP/s come with a % of peak. Medians of repeated timings after a warm-up. `time-to-accuracy`
// (tools/cli/time_to_accuracy.h) times whole training runs instead.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <numeric>

#include "engine/dataset.h"
#include "engine/machine_peak.h"
#include "engine/timed.h"
#include "engine/trainer.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"
#include "tools/cli/time_to_accuracy.h"

namespace hdr::cli {
namespace {

struct BenchArgs {
  std::string what = "all", config;
  std::vector<std::string> overrides;
  int steps = 50, repeats = 5;
  double target = 99.0;  // time-to-accuracy: percent
  int first_seed = 1, seeds = 3;
  DeviceOptions device;
  bool json = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Seconds of `repeats` timed runs of fn (each run finished on the device), after one warm-up.
template <class Fn>
std::vector<double> time_runs(Backend& backend, int repeats, Fn fn) {
  fn();
  std::vector<double> out;
  for (int r = 0; r < repeats; ++r) {
    double s = 0;
    timed(backend, &s, fn);
    out.push_back(s);
  }
  return out;
}

struct Bench {
  Config config;
  std::unique_ptr<Backend> backend;
  LabelledImages train_images;
  double peak_gflops = 0;
};

// A model, its training data on the device and a TrainStep: what the train and kernels
// benchmarks run, step s on the data's rows s * batch onwards.
struct TrainingRig {
  TrainingRig(Bench& b)
      : batch(b.config.train.batch_size),
        lr(b.config.train.learning_rate),
        model(b.config.model, *b.backend, batch),
        data(*b.backend, b.train_images),
        step(model, *b.backend, b.config),
        metrics(*b.backend, 2) {
    model.initialize(b.config.train.seed);
    metrics.zero();
  }
  int steps_available() const { return data.count / batch; }
  void run(int s) { step.run(data, data.rows.data() + s * batch, batch, 0, s * batch, lr, metrics.data()); }

  int batch;
  float lr;
  Model model;
  DeviceImages data;
  TrainStep step;
  DeviceArray<double> metrics;
};

nlohmann::json bench_train(Bench& b, const BenchArgs& args) {
  TrainingRig rig(b);
  const int batch = rig.batch, per_run = std::min(args.steps, rig.steps_available());
  const auto seconds = time_runs(*b.backend, args.repeats, [&] {
    for (int s = 0; s < per_run; ++s) rig.run(s);
  });
  const Model& model = rig.model;
  const double images_per_second = per_run * batch / median(seconds);
  const double flops_per_image = 3.0 * double(model.forward_flops_per_image());  // forward + 2x backward
  const double gflops = images_per_second * flops_per_image * 1e-9;
  nlohmann::json r = {{"images_per_second", images_per_second},
                      {"seconds_per_step", median(seconds) / per_run},
                      {"batch", batch},
                      {"mflop_per_image", flops_per_image * 1e-6},
                      {"gflops", gflops}};
  if (b.peak_gflops > 0) r["percent_of_peak"] = 100.0 * gflops / b.peak_gflops;
  return r;
}

nlohmann::json bench_infer(Bench& b, const BenchArgs& args) {
  constexpr int kBatch = 1000;
  Model model(b.config.model, *b.backend, kBatch);
  model.initialize(b.config.train.seed);
  const DeviceImages data(*b.backend, b.train_images);
  const int n = std::min(kBatch, data.count);
  DeviceArray<float> x(*b.backend, size_t(kBatch) * model.input_shape().size());
  const AugmentParams scaling = scaling_only(b.config.data);
  auto infer = [&](int count) {
    b.backend->augment(scaling, RandomKey{}, data.images.data(), data.h, data.w, data.rows.data(), count, x.data());
    model.forward(Pass{*b.backend, count, false, RandomKey{}, 0}, x.data());
  };
  const auto batch_seconds = time_runs(*b.backend, args.repeats, [&] { infer(n); });
  const auto single_seconds = time_runs(*b.backend, 200, [&] { infer(1); });
  const double images_per_second = n / median(batch_seconds);
  const double gflops = images_per_second * double(model.forward_flops_per_image()) * 1e-9;
  nlohmann::json r = {{"batch", n},
                      {"images_per_second", images_per_second},
                      {"gflops", gflops},
                      {"single_image_latency_ms", 1e3 * median(single_seconds)}};
  if (b.peak_gflops > 0) r["percent_of_peak"] = 100.0 * gflops / b.peak_gflops;
  return r;
}

nlohmann::json bench_kernels(Bench& b, const BenchArgs& args) {
  TrainingRig rig(b);
  const int batch = rig.batch, steps = std::min(args.steps, rig.steps_available());
  rig.run(0);  // warm-up: primitives created, caches filled
  StepProfile profile;
  rig.step.attach_profile(&profile);
  for (int s = 0; s < steps; ++s) rig.run(s);
  rig.step.attach_profile(nullptr);

  nlohmann::json ops = nlohmann::json::array();
  auto add = [&](const std::string& name, double seconds, double flops) {
    const double ms = 1e3 * seconds / steps;
    nlohmann::json op = {{"op", name}, {"ms_per_step", ms}};
    if (flops > 0) {
      op["gflops"] = flops * batch / (seconds / steps) * 1e-9;
      if (b.peak_gflops > 0) op["percent_of_peak"] = 100.0 * op["gflops"].get<double>() / b.peak_gflops;
    }
    ops.push_back(op);
  };
  add("augment + labels", profile.augment_seconds, 0);
  for (const LayerTiming& l : profile.layers) {
    add(l.name + " forward (" + l.kind + ")", l.forward_seconds, double(l.forward_flops));
    add(l.name + " backward (" + l.kind + ")", l.backward_seconds, 2.0 * double(l.forward_flops));
  }
  add("softmax cross-entropy", profile.loss_seconds, 0);
  add("optimizer update", profile.update_seconds, 0);
  return {{"batch", batch}, {"steps", steps}, {"ops", ops}};
}

// " = 35.0% of peak" when the run measured a peak (CPU backend), else nothing.
std::string of_peak(const nlohmann::json& j) {
  return j.contains("percent_of_peak") ? fmt::format(" = {:.1f}% of peak", j["percent_of_peak"].get<double>()) : "";
}

void print_human(const nlohmann::json& r) {
  if (r.contains("peak_gflops"))
    fmt::print("machine: FP32 peak {:.0f} GFLOP/s measured ({})\n", r["peak_gflops"].get<double>(),
               r["backend"].get<std::string>());
  else
    fmt::print("backend: {}\n", r["backend"].get<std::string>());
  if (r.contains("train")) {
    const auto& t = r["train"];
    fmt::print("train  {}: {:.0f} images/s (batch {}, {:.2f} ms/step), {:.1f} MFLOP/image, {:.0f} GFLOP/s{}\n",
               r["model"].get<std::string>(), t["images_per_second"].get<double>(), t["batch"].get<int>(),
               1e3 * t["seconds_per_step"].get<double>(), t["mflop_per_image"].get<double>(),
               t["gflops"].get<double>(), of_peak(t));
  }
  if (r.contains("infer")) {
    const auto& i = r["infer"];
    fmt::print("infer  batch {}: {:.0f} images/s, {:.0f} GFLOP/s{}; single image {:.3f} ms\n", i["batch"].get<int>(),
               i["images_per_second"].get<double>(), i["gflops"].get<double>(), of_peak(i),
               i["single_image_latency_ms"].get<double>());
  }
  if (r.contains("kernels")) {
    const auto& k = r["kernels"];
    double total = 0;
    for (const auto& op : k["ops"]) total += op["ms_per_step"].get<double>();
    fmt::print("kernels: one training step at batch {} ({} steps, each piece synchronised), {:.2f} ms in all\n",
               k["batch"].get<int>(), k["steps"].get<int>(), total);
    for (const auto& op : k["ops"]) {
      const double ms = op["ms_per_step"].get<double>();
      const std::string rate = op.contains("gflops") ? fmt::format("{:7.1f} GFLOP/s{}", op["gflops"].get<double>(), of_peak(op)) : "";
      fmt::print("  {:<44} {:8.3f} ms {:5.1f}%  {}\n", op["op"].get<std::string>(), ms, 100.0 * ms / total, rate);
    }
  }
}

void run_time_to_accuracy(const BenchArgs& args) {
  const Config config = args.config.empty() ? speedrun_config(args.overrides) : load_config(args.config, args.overrides);
  auto backend = make_backend(args.device);
  ensure_mnist(config.data.dir);  // a first download is not part of the time
  const bool on_cpu = backend->name().starts_with("cpu");
  nlohmann::json r = {{"model", config.model.name}, {"backend", backend->name()}};
  r["time_to_accuracy"] = time_to_accuracy(config, *backend, args.target, args.first_seed, args.seeds, on_cpu);
  if (args.json) {
    fmt::print("{}\n", r.dump(2));
    return;
  }
  fmt::print("backend: {}\n", r["backend"].get<std::string>());
  print_time_to_accuracy(r["time_to_accuracy"]);
}

void run_bench(const BenchArgs& args) {
  if (args.what == "time-to-accuracy") return run_time_to_accuracy(args);
  Bench b;
  b.config = args.config.empty() ? default_config(args.overrides) : load_config(args.config, args.overrides);
  b.backend = make_backend(args.device);
  ensure_mnist(b.config.data.dir);
  const MnistFiles files(b.config.data.dir);
  const LabelledImages all = read_idx_pair(files.train_images, files.train_labels, b.config.model.classes);
  require_input_size(all, b.config.model, b.config.data.dir);
  const int count = std::min(all.count(), std::max(args.steps * b.config.train.batch_size, 1000));
  std::vector<int32_t> first(static_cast<size_t>(count));
  std::iota(first.begin(), first.end(), 0);
  b.train_images = subset(all, first);
  // % of peak is against this machine's CPU peak, so it is only reported for the CPU backend.
  const bool on_cpu = b.backend->name().starts_with("cpu");
  if (on_cpu) b.peak_gflops = measure_fp32_peak_gflops();

  nlohmann::json r = {{"model", b.config.model.name}, {"backend", b.backend->name()}};
  if (on_cpu) r["peak_gflops"] = b.peak_gflops;
  if (args.what == "train" || args.what == "all") r["train"] = bench_train(b, args);
  if (args.what == "infer" || args.what == "all") r["infer"] = bench_infer(b, args);
  if (args.what == "kernels" || args.what == "all") r["kernels"] = bench_kernels(b, args);
  if (args.json)
    fmt::print("{}\n", r.dump(2));
  else
    print_human(r);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure training, inference and per-op throughput on real MNIST, or the "
                                          "time a recipe takes to reach a test accuracy");
  auto args = std::make_shared<BenchArgs>();
  cmd->add_option("what", args->what,
                  "train, infer, kernels, all (the three), or time-to-accuracy: whole training runs timed from the "
                  "data on disk to the test score")
      ->check(CLI::IsMember({"train", "infer", "kernels", "all", "time-to-accuracy"}))
      ->capture_default_str();
  cmd->add_option("--config", args->config,
                  "INI config (default: the embedded cnn_bn; for time-to-accuracy the embedded speedrun)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", args->overrides, "Override a config key: section.key=value (repeatable)");
  cmd->add_option("--steps", args->steps, "Training steps per timed run")->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--repeats", args->repeats, "Timed runs; the median is reported")->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--target", args->target, "time-to-accuracy: the test accuracy to reach, in percent")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--seeds", args->seeds, "time-to-accuracy: how many runs, one per seed")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--first-seed", args->first_seed,
                  "time-to-accuracy: the first run's seed (the others follow it); fresh seeds check a recipe "
                  "chosen on the first ones")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print the results as JSON");
  args->device.add_to(*cmd);
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace hdr::cli

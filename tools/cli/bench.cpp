// `hdr bench [train|infer|kernels|all|time-to-accuracy|compare]`: throughput of the training step,
// inference and each op of the step on real MNIST, on one device or all side by side, with the
// device's peaks measured in the same run so every rate comes with a % of its roof. The JSON
// (--json) follows the schema in docs/profiling.md; `compare` reads two of them.
// `time-to-accuracy` (tools/cli/time_to_accuracy.h) times whole training runs instead.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include "engine/backends/build_info.h"
#include "engine/backends/version.h"
#include "engine/core/errors.h"
#include "engine/inference/evaluate.h"
#include "engine/nn/dataset.h"
#include "engine/profile/profiling_backend.h"
#include "engine/train/train_step.h"
#include "tools/cli/bench_compare.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"
#include "tools/cli/gpu_projection.h"
#include "tools/cli/op_profile.h"
#include "tools/cli/time_to_accuracy.h"

namespace hdr::cli {
namespace {

struct BenchArgs {
  std::string what = "all", config;
  std::vector<std::string> overrides, files;
  int steps = 50, repeats = 5;
  int batch = 0;         // 0: the config's
  double target = 99.0;  // time-to-accuracy: percent
  int first_seed = 1, seeds = 3;
  DeviceOptions device;
  bool json = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Seconds of `repeats` timed runs of fn after one warm-up, each on the backend's own clock
// (CUDA events around the whole run on the GPU).
template <class Fn>
std::vector<double> time_runs(Backend& backend, int repeats, Fn fn) {
  fn();
  const std::unique_ptr<OpTimer> timer = backend.make_op_timer();
  for (int r = 0; r < repeats; ++r) {
    timer->start();
    fn();
    timer->stop();
  }
  return timer->collect();
}

// What every benchmark of one device shares: the config, the first training images, the backend
// and its peaks.
struct Bench {
  Config config;
  LabelledImages train_images;
  int full_train_count = 0;  // the config's training set (MNIST's training images less validation)
  std::unique_ptr<Backend> backend;
  DevicePeaks peaks;
};

// A model, its training data on the device and a TrainStep, all on `backend` (the bench's, or a
// profiler around it): what the train and kernels benchmarks run, step s on rows s * batch on.
struct TrainingRig {
  TrainingRig(Bench& b, Backend& backend)
      : batch(b.config.train.batch_size),
        lr(b.config.train.learning_rate),
        model(b.config.model, backend, batch),
        data(backend, b.train_images),
        step(model, backend, b.config),
        metrics(backend, 2) {
    model.initialize(b.config.train.seed);
    model.prepare(batch, true);
    metrics.zero();
  }
  int steps_available() const { return data.count / batch; }
  void run(int s) {
    s %= steps_available();
    step.run(data, data.rows.data() + s * batch, batch, 0, s * batch, lr, metrics.data());
  }

  int batch;
  float lr;
  Model model;
  DeviceImages data;
  TrainStep step;
  DeviceArray<double> metrics;
};

// The FLOP rates of a benchmark running images_per_second: "gflops" by the model's formula
// (mflop_per_image: every convolution as the direct sum, the effective rate), "performed_gflops"
// by what the backend performs (fewer where it runs Winograd). The % of the FP32 peak is the
// performed rate's, which only an under-measured peak puts above 100%; the effective one can
// pass 100% and is given beside it.
void put_flop_rates(nlohmann::json& r, double images_per_second, double flops_per_image, double performed_per_image,
                    const DevicePeaks& peaks) {
  const double gflops = images_per_second * flops_per_image * 1e-9,
               performed = images_per_second * performed_per_image * 1e-9;
  r["mflop_per_image"] = flops_per_image * 1e-6;
  r["gflops"] = gflops;
  r["performed_mflop_per_image"] = performed_per_image * 1e-6;
  r["performed_gflops"] = performed;
  r["effective_percent_of_peak"] = 100.0 * gflops / peaks.fp32_gflops;
  put_percent_of_peak(r, performed, peaks.fp32_gflops);
}

nlohmann::json bench_train(Bench& b, const BenchArgs& args) {
  TrainingRig rig(b, *b.backend);
  const int batch = rig.batch, per_run = std::min(args.steps, rig.steps_available());
  const auto seconds = time_runs(*b.backend, args.repeats, [&] {
    for (int s = 0; s < per_run; ++s) rig.run(s);
  });
  const double images_per_second = per_run * batch / median(seconds);
  const double flops_per_image = 3.0 * double(rig.model.forward_flops_per_image());  // forward + 2x backward
  const double epoch_seconds = b.full_train_count / images_per_second;
  nlohmann::json r = {{"images_per_second", images_per_second},
                      {"seconds_per_step", median(seconds) / per_run},
                      {"batch", batch},
                      {"train_images", b.full_train_count},
                      {"seconds_per_epoch", epoch_seconds},
                      {"epochs", b.config.train.epochs},
                      {"projected_run_seconds", epoch_seconds * b.config.train.epochs}};
  put_flop_rates(r, images_per_second, flops_per_image, rig.model.performed_flops_per_image(batch, true), b.peaks);
  return r;
}

nlohmann::json bench_infer(Bench& b, const BenchArgs& args) {
  constexpr int kBatch = 1000;
  Model model(b.config.model, *b.backend, kBatch);
  model.initialize(b.config.train.seed);
  const DeviceImages data(*b.backend, b.train_images);
  const int n = std::min(kBatch, data.count);
  model.prepare(n, false);
  model.prepare(1, false);
  DeviceArray<float> x(*b.backend, size_t(kBatch) * model.input_shape().size());
  const AugmentParams scaling = scaling_only(b.config.data);
  auto infer = [&](int count) {
    b.backend->augment({.params = scaling,
                        .images = data.images.data(),
                        .h = data.h,
                        .w = data.w,
                        .indices = data.rows.data(),
                        .n = count,
                        .out = x.data()});
    model.forward(Pass{*b.backend, count, false, RandomKey{}, 0}, x.data());
  };
  const auto batch_seconds = time_runs(*b.backend, args.repeats, [&] { infer(n); });
  const auto single_seconds = time_runs(*b.backend, 200, [&] { infer(1); });
  const double images_per_second = n / median(batch_seconds);
  nlohmann::json r = {{"batch", n},
                      {"images_per_second", images_per_second},
                      {"single_image_latency_ms", 1e3 * median(single_seconds)}};
  put_flop_rates(r, images_per_second, double(model.forward_flops_per_image()),
                 model.performed_flops_per_image(n, false), b.peaks);
  r["single_image_performed_mflop"] = model.performed_flops_per_image(1, false) * 1e-6;
  return r;
}

struct StepOps {
  std::vector<OpRow> rows;
  int64_t steps = 0;
  int batch = 0;
};

// Every op of the training step, each timed alone on the backend's clock with the caches flushed
// before it (the GPU's L2), over `steps` steps after one untimed warm-up step.
StepOps profile_steps(Bench& b, Backend& backend, int steps) {
  ProfilingBackend profiler(backend, true);
  TrainingRig rig(b, profiler);
  rig.run(0);
  rig.step.attach_profile(&profiler);
  for (int s = 0; s < steps; ++s) rig.run(s + 1);
  return {profiler.rows(), profiler.steps(), rig.batch};
}

nlohmann::json bench_kernels(Bench& b, const BenchArgs& args) {
  const StepOps ops = profile_steps(b, *b.backend, args.steps);
  nlohmann::json r = op_profile_json(ops.rows, ops.steps, &b.peaks);
  r["batch"] = ops.batch;
  return r;
}

// No GPU: this build's static report of its kernels, and the step projected onto H100 and H200
// rooflines from the ops of one step profiled on the CPU.
void project_gpu(Bench& b, const BenchArgs& args, nlohmann::json& d) {
  const std::unique_ptr<Backend> cpu = make_cpu_backend(args.device.threads);
  const StepOps ops = profile_steps(b, *cpu, 1);
  d["static"] = static_gpu_json();
  d["projected"] = projected_gpu_json(ops.rows, ops.batch);
}

// "27.9% of FP32 peak", or what a result above the peak means.
std::string of_fp32_peak(const nlohmann::json& result) {
  if (result.value("peak_under_measured", false))
    return "above the FP32 peak measured at the start (under-measured: another process busy then?)";
  return percent_of_peak_text(result) + " of FP32 peak";
}

// "19.4 MFLOP/image, 180 GFLOP/s = 90.1% of FP32 peak", or where the backend performs fewer
// FLOPs than the model's formula: "19.4 MFLOP/image by formula, 10.2 performed: 180 GFLOP/s
// effective (90.1% of FP32 peak), 95 GFLOP/s performed = 47.5% of FP32 peak".
std::string flop_rates_text(const nlohmann::json& r) {
  const double mflop = r["mflop_per_image"].get<double>(), performed = r["performed_mflop_per_image"].get<double>();
  if (performed >= mflop)
    return fmt::format("{:.1f} MFLOP/image, {:.0f} GFLOP/s = {}", mflop, r["gflops"].get<double>(), of_fp32_peak(r));
  return fmt::format(
      "{:.1f} MFLOP/image by formula, {:.1f} performed: {:.0f} GFLOP/s effective ({:.1f}% of FP32 peak), "
      "{:.0f} GFLOP/s performed = {}",
      mflop, performed, r["gflops"].get<double>(), r["effective_percent_of_peak"].get<double>(),
      r["performed_gflops"].get<double>(), of_fp32_peak(r));
}

void print_device(const nlohmann::json& d, const std::string& model) {
  if (!d["available"].get<bool>()) {
    fmt::print("{}: no device: {}\n", d["device"].get<std::string>(), d["why"].get<std::string>());
    if (d.contains("static")) print_static_gpu(d["static"]);
    if (d.contains("projected")) print_projected_gpu(d["projected"]);
    return;
  }
  fmt::print("backend: {}\n", d["backend"].get<std::string>());
  print_peaks(d["peaks"]);
  if (d.contains("train")) {
    const auto& t = d["train"];
    fmt::print("train  {}: {:.0f} images/s (batch {}, {:.2f} ms/step), {}; {:.1f} s per epoch of {} images, {:.1f} min "
               "projected for {} epochs\n",
               model, t["images_per_second"].get<double>(), t["batch"].get<int>(),
               1e3 * t["seconds_per_step"].get<double>(), flop_rates_text(t), t["seconds_per_epoch"].get<double>(),
               t["train_images"].get<int>(), t["projected_run_seconds"].get<double>() / 60, t["epochs"].get<int>());
  }
  if (d.contains("infer")) {
    const auto& i = d["infer"];
    fmt::print("infer  batch {}: {:.0f} images/s, {}; single image {:.3f} ms\n", i["batch"].get<int>(),
               i["images_per_second"].get<double>(), flop_rates_text(i), i["single_image_latency_ms"].get<double>());
  }
  if (d.contains("kernels")) {
    fmt::print("kernels: each op of the training step at batch {}, timed alone (caches flushed before it): ",
               d["kernels"]["batch"].get<int>());
    print_op_profile(d["kernels"]);
  }
}

// The train benchmark of every device in one table, with each GPU's speed-up over the CPU.
void print_side_by_side(const nlohmann::json& devices) {
  const nlohmann::json* cpu = nullptr;
  for (const auto& d : devices)
    if (d["device"] == "cpu" && d.contains("train")) cpu = &d;
  fmt::print("\n{:<28}", "training, side by side");
  for (const auto& d : devices) fmt::print(" {:>24}", d["device"].get<std::string>());
  fmt::print("\n");
  auto row = [&](const char* label, auto cell) {
    fmt::print("{:<28}", label);
    for (const auto& d : devices) fmt::print(" {:>24}", d.contains("train") ? cell(d["train"]) : "no device");
    fmt::print("\n");
  };
  row("images/s", [](const auto& t) { return fmt::format("{:.0f}", t["images_per_second"].template get<double>()); });
  row("s per epoch",
      [](const auto& t) { return fmt::format("{:.1f}", t["seconds_per_epoch"].template get<double>()); });
  row("projected run (min)",
      [](const auto& t) { return fmt::format("{:.1f}", t["projected_run_seconds"].template get<double>() / 60); });
  if (cpu)
    row("speed-up over the CPU", [&](const auto& t) {
      return fmt::format("{:.1f}x", t["images_per_second"].template get<double>() /
                                        (*cpu)["train"]["images_per_second"].get<double>());
    });
}

// The devices --device names: one, or for "all" the CPU and cuda:0.
std::vector<std::string> devices_of(const DeviceOptions& options) {
  if (options.device == "all") return {"cpu", "cuda"};
  return {options.device};
}

void run_time_to_accuracy(const BenchArgs& args) {
  const Config config = args.config.empty() ? speedrun_config(args.overrides)
                                            : load_config(args.config, args.overrides);
  if (args.device.device == "all") throw InputError("--device all: time-to-accuracy runs on one device");
  auto backend = make_backend(args.device);
  ensure_mnist(config.data.dir);  // a first download is not part of the time
  const bool on_cpu = backend->name().starts_with("cpu");
  nlohmann::json r = {{"schema", kBenchSchema},
                      {"command", "time-to-accuracy"},
                      {"model", config.model.name},
                      {"backend", backend->name()}};
  r["time_to_accuracy"] = time_to_accuracy(config, *backend, args.target, args.first_seed, args.seeds, on_cpu);
  if (args.json) {
    fmt::print("{}\n", r.dump(2));
    return;
  }
  fmt::print("backend: {}\n", r["backend"].get<std::string>());
  print_time_to_accuracy(r["time_to_accuracy"]);
}

// One device's entry: its backend and peaks and the benchmarks asked for, or why it is absent.
nlohmann::json bench_device(Bench& b, const BenchArgs& args, const std::string& device) {
  DeviceOptions options = args.device;
  options.device = device;
  nlohmann::json d = {{"device", device}};
  try {
    b.backend = make_backend(options);
  } catch (const InputError& e) {
    // A missing GPU ends the command, unless the CPU runs beside it (all) or what a GPU-less
    // machine can say about one is asked for (kernels).
    const bool kernels = args.what == "kernels" || args.what == "all", gpu = cuda_device_index(device).has_value();
    if (args.device.device != "all" && !(kernels && gpu)) throw;
    d["available"] = false;
    d["why"] = e.what();
    if (kernels && gpu) project_gpu(b, args, d);
    return d;
  }
  d["available"] = true;
  d["backend"] = b.backend->name();
  if (device == "auto") {  // the one it chose
    const std::string name = b.backend->name();
    d["device"] = name.substr(0, name.find(' '));
  }
  b.peaks = b.backend->measure_peaks();
  d["peaks"] = peaks_json(b.peaks);
  if (args.what == "train" || args.what == "all") d["train"] = bench_train(b, args);
  if (args.what == "infer" || args.what == "all") d["infer"] = bench_infer(b, args);
  if (args.what == "kernels" || args.what == "all") d["kernels"] = bench_kernels(b, args);
  b.backend.reset();
  return d;
}

void run_bench(const BenchArgs& args) {
  if (args.what == "compare") {
    if (args.files.size() != 2) throw InputError("bench compare: expected two JSON files, A and B");
    return compare_bench_files(args.files[0], args.files[1]);
  }
  if (!args.files.empty())
    throw InputError(fmt::format("bench {}: unexpected argument '{}'", args.what, args.files[0]));
  if (args.what == "time-to-accuracy") return run_time_to_accuracy(args);
  Bench b;
  std::vector<std::string> overrides = args.overrides;
  if (args.batch > 0) overrides.push_back(fmt::format("train.batch_size={}", args.batch));
  b.config = args.config.empty() ? default_config(overrides) : load_config(args.config, overrides);
  ensure_mnist(b.config.data.dir);
  const MnistFiles files(b.config.data.dir);
  const LabelledImages all = read_idx_pair(files.train_images, files.train_labels, b.config.model.classes);
  require_input_size(all, b.config.model, b.config.data.dir);
  b.full_train_count = all.count() - int(float(all.count()) * b.config.data.validation_split);
  const int count = std::min(all.count(), std::max((args.steps + 1) * b.config.train.batch_size, 1000));
  std::vector<int32_t> first(static_cast<size_t>(count));
  std::iota(first.begin(), first.end(), 0);
  b.train_images = subset(all, first);

  nlohmann::json r = {{"schema", kBenchSchema},
                      {"command", args.what},
                      {"hdr", fmt::format("{} ({})", HDR_VERSION, git_revision())},
                      {"model", b.config.model.name},
                      {"config", b.config.source},
                      {"devices", nlohmann::json::array()}};
  for (const std::string& device : devices_of(args.device)) r["devices"].push_back(bench_device(b, args, device));
  if (args.json) {
    fmt::print("{}\n", r.dump(2));
    return;
  }
  for (const auto& d : r["devices"]) print_device(d, r["model"].get<std::string>());
  if (r["devices"].size() > 1 && (args.what == "train" || args.what == "all")) print_side_by_side(r["devices"]);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure training, inference and per-op throughput on real MNIST, compare "
                                          "two results, or time a recipe to a test accuracy");
  auto args = std::make_shared<BenchArgs>();
  cmd->add_option("what", args->what,
                  "train, infer, kernels (every op of the training step, timed alone), all (the three), "
                  "time-to-accuracy (whole training runs timed from the data on disk to the test score), or "
                  "compare A.json B.json (per-op time ratios of two --json results)")
      ->check(CLI::IsMember({"train", "infer", "kernels", "all", "time-to-accuracy", "compare"}))
      ->capture_default_str();
  cmd->add_option("files", args->files, "compare: the two --json results, A then B");
  cmd->add_option("--config", args->config,
                  "INI config (default: the embedded cnn_bn; for time-to-accuracy the embedded speedrun)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", args->overrides, "Override a config key: section.key=value (repeatable)");
  cmd->add_option("--batch", args->batch, "train, kernels: the batch size (default: the config's train.batch_size)")
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--steps", args->steps, "Training steps per timed run (kernels: steps profiled after a warm-up)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--repeats", args->repeats, "train, infer: timed runs; the median is reported")
      ->check(CLI::Range(1, 1000))
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
  cmd->add_flag("--json", args->json, "Print the results as JSON (schema: docs/profiling.md)");
  args->device.add_to(*cmd, true);
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace hdr::cli

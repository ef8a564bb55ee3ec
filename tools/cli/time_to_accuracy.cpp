#include "tools/cli/time_to_accuracy.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "engine/core/errors.h"
#include "engine/nn/dataset.h"
#include "engine/train/trainer.h"

namespace hdr::cli {
namespace {
namespace fs = std::filesystem;

// Refuses a recipe that could adapt to what it sees during the run: a timed run must train the
// same way whatever the data says, and may look at the test set once, at the end.
void require_fixed_recipe(const Config& c) {
  const auto refuse = [&](const std::string& why) {
    throw InputError(fmt::format("{}: time-to-accuracy needs a recipe fixed in advance on the whole training set: {}",
                                 c.source, why));
  };
  if (c.data.validation_split > 0)
    refuse(fmt::format("data.validation_split is {} (set it to 0)", c.data.validation_split));
  if (c.data.train_limit > 0) refuse(fmt::format("data.train_limit is {} (set it to 0)", c.data.train_limit));
  if (c.early_stopping.enabled) refuse("early_stopping is enabled");
  if (c.lr_schedule.kind == ScheduleKind::kPlateau) refuse("lr_schedule.type = plateau watches a validation result");
}

// A scratch folder for the run's checkpoints, removed with its contents when done.
class ScratchDir {
 public:
  explicit ScratchDir(uint64_t seed)
      : path_(fs::temp_directory_path() / fmt::format("hdr-time-to-accuracy-{}-{}", ::getpid(), seed)) {
    fs::remove_all(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

nlohmann::json timed_run(Config config, Backend& backend, uint64_t seed, double target_percent, bool measure_peak) {
  config.train.seed = seed;
  const ScratchDir out(seed);
  // The machine's speed drifts by up to 2x from hour to hour here: each time has its own peak.
  const double peak = measure_peak ? backend.measure_peaks().fp32_gflops : 0.0;
  TrainOptions options;
  options.out_dir = out.path();
  const auto start = std::chrono::steady_clock::now();
  const Datasets data = load_datasets(config.data, config.model, seed);
  const TrainResult r = train(config, backend, data, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double percent = 100.0 * r.test.accuracy;
  return {{"seed", seed},
          {"accuracy", r.test.accuracy},
          {"seconds", seconds},
          {"epochs", r.epochs_done},
          {"training_images", data.train.count()},
          {"reached", percent >= target_percent},
          {"peak_gflops", measure_peak ? nlohmann::json(peak) : nlohmann::json()}};
}

}  // namespace

nlohmann::json time_to_accuracy(const Config& config, Backend& backend, double target_percent, int first_seed,
                                int seeds, bool measure_peak) {
  require_fixed_recipe(config);
  nlohmann::json runs = nlohmann::json::array();
  double accuracy = 0, seconds = 0;
  int reached = 0;
  for (int seed = first_seed; seed < first_seed + seeds; ++seed) {
    runs.push_back(timed_run(config, backend, uint64_t(seed), target_percent, measure_peak));
    accuracy += runs.back()["accuracy"].get<double>();
    seconds += runs.back()["seconds"].get<double>();
    reached += runs.back()["reached"].get<bool>();
  }
  const double mean_accuracy = accuracy / seeds;
  return {{"config", config.source},         {"target_percent", target_percent},
          {"epochs", config.train.epochs},   {"runs", runs},
          {"mean_accuracy", mean_accuracy},  {"mean_seconds", seconds / seeds},
          {"runs_reaching_target", reached}, {"mean_reaches_target", 100.0 * mean_accuracy >= target_percent}};
}

void print_time_to_accuracy(const nlohmann::json& r) {
  const double target = r["target_percent"].get<double>();
  fmt::print("time to accuracy: {}, {} epochs, target {:.2f}% (clock: data on disk to the test score)\n",
             r["config"].get<std::string>(), r["epochs"].get<int>(), target);
  for (const auto& run : r["runs"])
    fmt::print("  seed {}: {:.2f}% in {:.2f} s ({} training images{}){}\n", run["seed"].get<int>(),
               100.0 * run["accuracy"].get<double>(), run["seconds"].get<double>(), run["training_images"].get<int>(),
               run["peak_gflops"].is_number()
                   ? fmt::format("; FP32 peak {:.0f} GFLOP/s just before", run["peak_gflops"].get<double>())
                   : "",
               run["reached"].get<bool>() ? "" : fmt::format(", below {:.2f}%", target));
  fmt::print("  mean:   {:.2f}% in {:.2f} s; {} of {} runs reached {:.2f}%{}\n",
             100.0 * r["mean_accuracy"].get<double>(), r["mean_seconds"].get<double>(),
             r["runs_reaching_target"].get<int>(), r["runs"].size(), target,
             r["mean_reaches_target"].get<bool>() ? "" : "; the mean did not");
}

}  // namespace hdr::cli

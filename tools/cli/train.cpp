// `hdr train [CONFIG]`: trains a model from an INI config (default: the embedded cnn_bn, seed
// 000's network and recipe), prints one Keras-like line per epoch, evaluates on the test set
// and leaves model.hdr, history.csv and history.json in --out.
#include <fmt/format.h>

#include <atomic>
#include <csignal>

#include "engine/dataset.h"
#include "engine/trainer.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"
#include "tools/cli/run_report.h"

namespace hdr::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void request_stop(int) {
  g_stop = true;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  int64_t seed = -1;
  DeviceOptions device;
  bool quiet = false;
};

void run_train(const TrainArgs& args) {
  std::vector<std::string> overrides = args.overrides;
  if (args.seed >= 0) overrides.push_back(fmt::format("train.seed={}", args.seed));
  const Config config = args.config.empty() ? default_config(overrides) : load_config(args.config, overrides);
  auto backend = make_backend(args.device);
  ensure_mnist(config.data.dir);
  const Datasets data = load_datasets(config.data, config.model, config.train.seed);

  TrainOptions options;
  options.out_dir = args.out.empty() ? "runs/" + config.model.name : args.out;
  options.progress = !args.quiet;
  options.stop_requested = &g_stop;
  fmt::print("config: {}{}\n", config.source,
             config.overrides.empty() ? "" : fmt::format(" (--set {})", fmt::join(config.overrides, " ")));
  fmt::print("backend: {}\n", backend->name());
  fmt::print("data: {}: {} training, {} validation, {} test images\n", config.data.dir, data.train.count(),
             data.validation.count(), data.test.count());
  fmt::print("train: {} epochs, batch {}, learning rate {}, seed {}, augmentation {}\n", config.train.epochs,
             config.train.batch_size, config.train.learning_rate, config.train.seed,
             config.augment.enabled ? "on" : "off");

  std::signal(SIGINT, request_stop);
  const TrainResult r = train(config, *backend, data, options);
  std::signal(SIGINT, SIG_DFL);

  if (r.interrupted)
    fmt::print("Interrupted after {} complete epochs: the model below holds the weights at the interruption{}\n",
               r.history.size(), r.best_epoch > 0 && config.early_stopping.enabled && config.early_stopping.restore_best_weights ? " (best epoch restored)" : "");
  fmt::print("Test accuracy: {:.2f}% ({} of {} images), loss {:.4f}\n", 100.0 * r.test.accuracy,
             int64_t(r.test.accuracy * r.test.count + 0.5), r.test.count, r.test.loss);
  fmt::print("Trained {} epochs in {:.1f} s{}; model saved to {}\n", r.history.size(), r.seconds,
             r.stopped_early ? " (early stop)" : "", r.checkpoint.string());
  report_training_run(config, *backend, data, r, options.out_dir);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model from an INI config on MNIST-format data");
  auto args = std::make_shared<TrainArgs>();
  cmd->add_option("config", args->config, "INI config (default: the embedded configs/cnn_bn.ini)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", args->overrides, "Override a config key: section.key=value (repeatable)");
  cmd->add_option("--out", args->out, "Folder for model.hdr, history.csv, history.json (default: runs/<model name>)");
  cmd->add_option("--seed", args->seed, "Random seed (overrides train.seed)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--quiet", args->quiet, "No per-epoch progress output");
  args->device.add_to(*cmd);
  cmd->callback([args] { run_train(*args); });
}

}  // namespace hdr::cli

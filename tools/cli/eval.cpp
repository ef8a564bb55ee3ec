// `hdr eval MODEL`: reloads a trained model and scores it on the test set; the accuracy must
// equal the one recorded when it was trained (same data, same backend and thread count).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/dataset.h"
#include "engine/inference.h"
#include "engine/trainer.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"

namespace hdr::cli {
namespace {

struct EvalArgs {
  std::string model, data;
  DeviceOptions device;
  bool json = false;
};

void run_eval(const EvalArgs& args) {
  auto backend = make_backend(args.device);
  const TrainedModel trained = read_trained_model(args.model);
  const auto model = build_model(trained, *backend, kEvalBatch);
  const Config& config = trained.config;
  const std::string dir = args.data.empty() ? config.data.dir : args.data;
  ensure_mnist(dir);
  const MnistFiles files(dir);
  const LabelledImages test = read_idx_pair(files.test_images, files.test_labels, config.model.classes);
  require_input_size(test, config.model, dir);
  const DeviceImages test_set(*backend, test);
  const EvalResult r = evaluate(*model, *backend, test_set, scaling_only(config.data));

  const auto meta = nlohmann::json::parse(trained.checkpoint.metadata_json);
  const bool recorded = meta.contains("test") && args.data.empty();
  if (args.json) {
    nlohmann::json out = {{"model", args.model}, {"data", dir},          {"count", r.count},
                          {"loss", r.loss},      {"accuracy", r.accuracy}, {"confusion", r.confusion}};
    if (recorded) out["recorded_accuracy"] = meta["test"]["accuracy"];
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("Test accuracy: {:.2f}% ({} of {} images), loss {:.4f}\n", 100.0 * r.accuracy,
             int64_t(r.accuracy * r.count + 0.5), r.count, r.loss);
  if (recorded) {
    const double then = meta["test"]["accuracy"].get<double>();
    fmt::print("At training time: {:.2f}%{}\n", 100.0 * then, then == r.accuracy ? " (identical)" : " (differs)");
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Score a trained model on the test set");
  auto args = std::make_shared<EvalArgs>();
  cmd->add_option("model", args->model, "Trained model (model.hdr from hdr train)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data, "Data folder (default: the one the model was trained on)");
  cmd->add_flag("--json", args->json, "Print the result as JSON");
  args->device.add_to(*cmd);
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace hdr::cli

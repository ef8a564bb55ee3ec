// `hdr eval MODEL`: reloads a trained model and scores it on a test set (by default the one it
// was trained with, where the accuracy must equal the one recorded at training time: same data,
// backend and thread count). Prints the classification report and confusion matrix, or the
// same as JSON (--json, pure JSON on stdout), and with --report DIR writes report.html and its
// charts for this evaluation.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/build_info.h"
#include "engine/dataset.h"
#include "engine/inference.h"
#include "engine/trainer.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"
#include "tools/cli/run_report.h"
#include "tools/report/evaluation.h"
#include "tools/report/report_page.h"

namespace hdr::cli {
namespace {

struct EvalArgs {
  std::string model, data, report;
  DeviceOptions device;
  bool json = false;
};

// The test accuracy the checkpoint recorded when it was trained: a number, or null when it holds
// none (a run still under way).
nlohmann::json recorded_accuracy(const TrainedModel& trained) {
  return trained.metadata.test ? nlohmann::json(trained.metadata.test->accuracy) : nlohmann::json();
}

void write_eval_report(const EvalArgs& args, const TrainedModel& trained, const Backend& backend,
                       const std::string& data_dir, const report::Evaluation& evaluation, const LabelledImages& test,
                       const ParamCounts& counts) {
  const Config& config = trained.config;
  report::ReportInput input{
      .title = fmt::format("{}: evaluation", config.model.name),
      .facts = {{"model file", args.model},
                {"model", fmt::format("{}, {} parameters", config.model.name, parameter_summary(counts))},
                {"trained from", config.source},
                {"data", fmt::format("{}: {} test images", data_dir, test.count())},
                {"device", backend.name()},
                {"hdr", fmt::format("{} (git {}, {} build)", HDR_VERSION, HDR_GIT_REVISION, HDR_BUILD_TYPE)},
                {"made", utc_now()}},
      .config_text = config.text,
      .evaluation = &evaluation,
      .images = &test};
  report::write_report(args.report, input);
}

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
  const report::Evaluation evaluation = report::analyse(
      evaluate(*model, *backend, test_set, scaling_only(config.data), KeepProbabilities::kYes), test.labels);
  const EvalResult& r = evaluation.result;
  if (!args.report.empty()) write_eval_report(args, trained, *backend, dir, evaluation, test, model->counts());

  const nlohmann::json then = args.data.empty() ? recorded_accuracy(trained) : nullptr;
  if (args.json) {
    nlohmann::json out = {{"model", args.model}, {"data", dir}};
    out.update(report::evaluation_json(evaluation));
    if (then.is_number()) out["recorded_accuracy"] = then;
    if (!args.report.empty()) out["report"] = (std::filesystem::path(args.report) / "report.html").string();
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("Test accuracy: {:.2f}% ({} of {} images), loss {:.4f}\n", 100.0 * r.accuracy,
             std::llround(evaluation.metrics.accuracy * double(evaluation.metrics.total)), r.count, r.loss);
  if (then.is_number())
    fmt::print("At training time: {:.2f}%{}\n", 100.0 * then.get<double>(),
               then.get<double>() == r.accuracy ? " (identical)" : " (differs)");
  fmt::print("\n{}\n{}", report::classification_table(evaluation), report::confusion_table(r));
  if (!args.report.empty()) fmt::print("\nReport: {}\n", (std::filesystem::path(args.report) / "report.html").string());
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Score a trained model on a test set: accuracy, per-digit metrics, report");
  auto args = std::make_shared<EvalArgs>();
  cmd->add_option("model", args->model, "Trained model (model.hdr from hdr train)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data, "Data folder with MNIST-format IDX files (default: the one the model was trained on)");
  cmd->add_option("--report", args->report, "Write report.html and its charts (SVG, PNG) into this folder");
  cmd->add_flag("--json", args->json, "Print the result as JSON on stdout (messages go to stderr)");
  args->device.add_to(*cmd);
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace hdr::cli

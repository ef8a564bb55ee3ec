// `hdr eval MODEL [MODEL...]`: reloads trained models and scores them on a test set (by default
// the one the first was trained with). One model: its accuracy must equal the one recorded at
// training time (same data, backend and thread count). Several: an ensemble (engine/inference/ensemble.h)
// that classifies by the mean of the models' probabilities; each member's own accuracy is
// printed, then the ensemble's. Prints the classification report and confusion matrix, or the
// same as JSON (--json, pure JSON on stdout), and with --report DIR writes report.html and its
// charts for this evaluation.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "engine/backends/version.h"
#include "engine/inference/ensemble.h"
#include "engine/inference/evaluate.h"
#include "engine/inference/inference.h"
#include "engine/nn/dataset.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"
#include "tools/cli/run_report.h"
#include "tools/report/evaluation.h"
#include "tools/report/report_page.h"

namespace hdr::cli {
namespace {

struct EvalArgs {
  std::vector<std::string> models;
  std::string data, report;
  DeviceOptions device;
  bool json = false;
};

// The test set every model is scored on, resident on the backend.
struct TestSet {
  std::string dir;
  LabelledImages images;
};

// One model's score on the test set, with what its report shows.
struct MemberResult {
  EvalResult result;
  ParamCounts counts;
};

// The test accuracy the checkpoint recorded when it was trained: a number, or null when it holds
// none (a run still under way).
nlohmann::json recorded_accuracy(const TrainedModel& trained) {
  return trained.metadata.test ? nlohmann::json(trained.metadata.test->accuracy) : nlohmann::json();
}

std::string report_file(const EvalArgs& args) { return (std::filesystem::path(args.report) / "report.html").string(); }

TestSet read_test_set(const EvalArgs& args, const Config& config) {
  TestSet set{.dir = args.data.empty() ? config.data.dir : args.data, .images = {}};
  ensure_mnist(set.dir);
  const MnistFiles files(set.dir);
  set.images = read_idx_pair(files.test_images, files.test_labels, config.model.classes);
  require_input_size(set.images, config.model, set.dir);
  return set;
}

MemberResult score(const TrainedModel& trained, Backend& backend, const DeviceImages& test_set) {
  const auto model = build_model(trained, backend, kEvalBatch);
  return {evaluate(*model, backend, test_set, scaling_only(trained.config.data), KeepProbabilities::kYes),
          model->counts()};
}

// "cnn_tutorial, 93,322 parameters"
std::string model_summary(const TrainedModel& trained, const ParamCounts& counts) {
  return fmt::format("{}, {} parameters", trained.config.model.name, parameter_summary(counts));
}

// report.html: the facts about the model(s) first, then the data, device and build.
void write_eval_report(const EvalArgs& args, report::ReportInput input, const Backend& backend, const TestSet& test) {
  const std::vector<std::pair<std::string, std::string>> common = {
      {"data", fmt::format("{}: {} test images", test.dir, test.images.count())},
      {"device", backend.name()},
      {"hdr", build_label()},
      {"made", utc_now()}};
  input.facts.insert(input.facts.end(), common.begin(), common.end());
  input.images = &test.images;
  report::write_report(args.report, input);
}

void print_json(const EvalArgs& args, nlohmann::json out, const report::Evaluation& evaluation) {
  out.update(report::evaluation_json(evaluation));
  if (!args.report.empty()) out["report"] = report_file(args);
  fmt::print("{}\n", out.dump(2));
}

// "98.12% (9812 of 10000 images), loss 0.0612"
std::string accuracy_text(const report::Evaluation& evaluation) {
  const EvalResult& r = evaluation.result;
  return fmt::format("{:.2f}% ({} of {} images), loss {:.4f}", 100.0 * r.accuracy,
                     std::llround(evaluation.metrics.accuracy * double(evaluation.metrics.total)), r.count, r.loss);
}

void print_tables(const EvalArgs& args, const report::Evaluation& evaluation) {
  fmt::print("\n{}\n{}", report::classification_table(evaluation), report::confusion_table(evaluation.result));
  if (!args.report.empty()) fmt::print("\nReport: {}\n", report_file(args));
}

void report_single(const EvalArgs& args, const TrainedModel& trained, MemberResult member, const Backend& backend,
                   const TestSet& test) {
  const report::Evaluation evaluation = report::analyse(std::move(member.result), test.images.labels);
  const Config& config = trained.config;
  if (!args.report.empty())
    write_eval_report(args,
                      {.title = fmt::format("{}: evaluation", config.model.name),
                       .facts = {{"model file", trained.source},
                                 {"model", model_summary(trained, member.counts)},
                                 {"trained from", config.source}},
                       .config_text = config.text,
                       .evaluation = &evaluation},
                      backend, test);

  const nlohmann::json then = args.data.empty() ? recorded_accuracy(trained) : nullptr;
  if (args.json) {
    nlohmann::json out = {{"model", trained.source}, {"data", test.dir}};
    if (then.is_number()) out["recorded_accuracy"] = then;
    print_json(args, std::move(out), evaluation);
    return;
  }
  const EvalResult& r = evaluation.result;
  fmt::print("Test accuracy: {}\n", accuracy_text(evaluation));
  if (then.is_number())
    fmt::print("At training time: {:.2f}%{}\n", 100.0 * then.get<double>(),
               then.get<double>() == r.accuracy ? " (identical)" : " (differs)");
  print_tables(args, evaluation);
}

void report_ensemble(const EvalArgs& args, const std::vector<TrainedModel>& models,
                     const std::vector<MemberResult>& members, const Backend& backend, const TestSet& test) {
  std::vector<EvalResult> results;
  for (const MemberResult& m : members) results.push_back(m.result);
  const report::Evaluation evaluation = report::analyse(ensemble_result(results, test.images.labels),
                                                        test.images.labels);
  const std::string how = fmt::format("mean of the class probabilities of {} models", models.size());
  if (!args.report.empty()) {
    report::ReportInput input{.title = fmt::format("Ensemble of {} models: evaluation", models.size()),
                              .evaluation = &evaluation};
    for (size_t i = 0; i < models.size(); ++i)
      input.facts.emplace_back(fmt::format("model {}", i + 1),
                               fmt::format("{}: {}, trained from {}; test accuracy {:.2f}%", models[i].source,
                                           model_summary(models[i], members[i].counts), models[i].config.source,
                                           100.0 * members[i].result.accuracy));
    input.facts.emplace_back("ensemble", how);
    write_eval_report(args, std::move(input), backend, test);
  }

  if (args.json) {
    nlohmann::json listed = nlohmann::json::array();
    for (size_t i = 0; i < models.size(); ++i)
      listed.push_back(
          {{"model", models[i].source}, {"accuracy", members[i].result.accuracy}, {"loss", members[i].result.loss}});
    print_json(args, {{"members", std::move(listed)}, {"data", test.dir}}, evaluation);
    return;
  }
  for (size_t i = 0; i < models.size(); ++i)
    fmt::print("Model {}: {:.2f}%, loss {:.4f}\n", models[i].source, 100.0 * members[i].result.accuracy,
               members[i].result.loss);
  fmt::print("Test accuracy of the ensemble ({}): {}\n", how, accuracy_text(evaluation));
  print_tables(args, evaluation);
}

void run_eval(const EvalArgs& args) {
  auto backend = make_backend(args.device);
  const std::vector<TrainedModel> models = read_trained_models(args.models);
  const TestSet test = read_test_set(args, models.front().config);
  const DeviceImages test_set(*backend, test.images);
  std::vector<MemberResult> members;
  for (const TrainedModel& m : models) members.push_back(score(m, *backend, test_set));
  if (models.size() == 1)
    report_single(args, models.front(), std::move(members.front()), *backend, test);
  else
    report_ensemble(args, models, members, *backend, test);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eval", "Score a trained model, or an ensemble of several, on a test set: accuracy, per-digit metrics, report");
  auto args = std::make_shared<EvalArgs>();
  cmd->add_option("model", args->models,
                  "Trained model (model.hdr from hdr train); several: an ensemble that averages their probabilities")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data,
                  "Data folder with MNIST-format IDX files (default: the one the (first) model was trained on)");
  cmd->add_option("--report", args->report, "Write report.html and its charts (SVG, PNG) into this folder");
  cmd->add_flag("--json", args->json, "Print the result as JSON on stdout (messages go to stderr)");
  args->device.add_to(*cmd);
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace hdr::cli

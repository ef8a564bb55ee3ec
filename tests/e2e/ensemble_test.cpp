// Ensembles from the command line: `hdr eval A B ...` and `hdr predict A ... --ensemble B`, with
// the e2e tests' shared model (tests/trained_model.h) as A and, as B, an MLP trained here on a
// few thousand images (a different network, a different accuracy). The ensemble's figures are
// recomputed here from the members' own probabilities, and one model twice must score exactly as
// the model alone.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/inference/evaluate.h"
#include "engine/inference/inference.h"
#include "engine/io/image_io.h"
#include "engine/nn/dataset.h"
#include "tests/mnist_dir.h"
#include "tests/mnist_test_set.h"
#include "tests/process.h"
#include "tests/temp_dir.h"
#include "tests/trained_model.h"

namespace hdr {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

std::string quoted(const fs::path& p) { return fmt::format("'{}'", p.string()); }
std::string tutorial() { return quoted(test::tutorial_model()); }

// Seed 001's MLP, one epoch on the first `images` training images, into dir/model.hdr.
fs::path train_mlp(const test::TempDir& dir, int images, const std::string& extra = "") {
  const auto r = test::run_command(
      fmt::format("{} train configs/mlp.ini --device cpu --quiet --out {} --set data.dir={} --set train.epochs=1 "
                  "--set data.train_limit={} --set data.validation_split=0 --set early_stopping.enabled=false {}",
                  HDR_EXE, quoted(dir.path()), test::mnist_dir(), images, extra));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return dir / "model.hdr";
}

json eval_json(const std::string& models) {
  const auto r = test::run_command(fmt::format("{} eval --device cpu --json {}", HDR_EXE, models),
                                   test::Capture::kStdoutOnly);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return json::parse(r.output);
}

int64_t sum_of(const json& confusion) {
  int64_t total = 0;
  for (const json& row : confusion)
    for (const json& n : row) total += n.get<int64_t>();
  return total;
}

// Each model's probabilities on the MNIST test set, the way `hdr eval --device cpu` computes them.
std::vector<float> test_set_probabilities(const fs::path& file) {
  const TrainedModel trained = read_trained_model(file);
  const auto backend = make_cpu_backend(0);
  const auto model = build_model(trained, *backend, kEvalBatch);
  const DeviceImages test_set(*backend, test::mnist_test());
  return evaluate(*model, *backend, test_set, scaling_only(trained.config.data), KeepProbabilities::kYes).probabilities;
}

TEST(EnsembleEval, OneModelTwiceScoresExactlyAsTheModelAlone) {
  const json alone = eval_json(tutorial());
  const json twice = eval_json(tutorial() + " " + tutorial());
  EXPECT_EQ(twice.at("accuracy"), alone.at("accuracy"));
  EXPECT_EQ(twice.at("confusion"), alone.at("confusion"));
  EXPECT_EQ(twice.at("count"), 10000);
  // The ensemble's loss is -log of the float probability, the model's log-sum-exp of its logits.
  EXPECT_NEAR(twice.at("loss").get<double>(), alone.at("loss").get<double>(), 1e-4);
  ASSERT_EQ(twice.at("members").size(), 2u);
  for (const json& m : twice.at("members")) {
    EXPECT_EQ(m.at("model"), test::tutorial_model().string());
    EXPECT_EQ(m.at("accuracy"), alone.at("accuracy"));
    EXPECT_EQ(m.at("loss"), alone.at("loss"));
  }
  // Only a single model is compared with what it recorded at training time.
  EXPECT_TRUE(alone.contains("recorded_accuracy"));
  EXPECT_FALSE(twice.contains("recorded_accuracy"));
}

TEST(EnsembleEval, TwoModelsScoreTheMeanOfTheirProbabilities) {
  const test::TempDir dir;
  const fs::path mlp = train_mlp(dir, 2000);
  const json a = eval_json(tutorial()), b = eval_json(quoted(mlp));
  const json both = eval_json(tutorial() + " " + quoted(mlp));
  ASSERT_EQ(both.at("members").size(), 2u);
  EXPECT_EQ(both.at("members")[0].at("model"), test::tutorial_model().string());
  EXPECT_EQ(both.at("members")[1].at("model"), mlp.string());
  for (size_t i = 0; i < 2; ++i) {
    const json& alone = i == 0 ? a : b;
    EXPECT_EQ(both.at("members")[i].at("accuracy"), alone.at("accuracy")) << i;
    EXPECT_EQ(both.at("members")[i].at("loss"), alone.at("loss")) << i;
  }
  ASSERT_NE(a.at("accuracy"), b.at("accuracy"));  // two different models, or the test proves little

  // The ensemble recomputed from each member's probabilities: the most probable class of their
  // mean (the first on ties), and the mean of -log of the true class's mean probability.
  const std::vector<float> pa = test_set_probabilities(test::tutorial_model()), pb = test_set_probabilities(mlp);
  const LabelledImages& set = test::mnist_test();
  ASSERT_EQ(pa.size(), size_t(set.count()) * 10);
  int64_t correct = 0;
  double loss = 0;
  std::vector<int64_t> confusion(100, 0);
  for (size_t i = 0; i < size_t(set.count()); ++i) {
    std::vector<float> mean(10);
    for (size_t k = 0; k < 10; ++k) mean[k] = float((double(pa[i * 10 + k]) + double(pb[i * 10 + k])) / 2);
    const size_t predicted = size_t(std::max_element(mean.begin(), mean.end()) - mean.begin());
    const size_t label = set.labels[i];
    correct += predicted == label;
    ++confusion[label * 10 + predicted];
    loss -= std::log(double(mean[label]));
  }
  EXPECT_EQ(both.at("accuracy").get<double>(), double(correct) / set.count());
  EXPECT_NEAR(both.at("loss").get<double>(), loss / set.count(), 1e-9);
  EXPECT_EQ(sum_of(both.at("confusion")), 10000);
  for (size_t t = 0; t < 10; ++t)
    for (size_t p = 0; p < 10; ++p) EXPECT_EQ(both.at("confusion")[t][p], confusion[t * 10 + p]) << t << "," << p;
  EXPECT_EQ(both.at("classes").size(), 10u);  // the usual per-digit table, of the ensemble
}

TEST(EnsembleEval, TextListsEachMemberThenTheEnsembleAndTheReportIsTheEnsembles) {
  const test::TempDir dir;
  const auto r = test::run_command(
      fmt::format("{} eval --device cpu {} {} --report {}", HDR_EXE, tutorial(), tutorial(), quoted(dir / "report")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string member = fmt::format("Model {}: ", test::tutorial_model().string());
  const size_t first = r.output.find(member);
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_NE(r.output.find(member, first + 1), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Test accuracy of the ensemble (mean of the class probabilities of 2 models): "),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("At training time"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Confusion matrix (rows: true label, columns: predicted)"), std::string::npos) << r.output;
  std::ifstream in(dir / "report/report.html");
  const std::string html{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_NE(html.find("Ensemble of 2 models: evaluation"), std::string::npos);
  EXPECT_NE(html.find(test::tutorial_model().string()), std::string::npos);
}

// Test digits 0..count-1 as PNG files in a folder.
struct DigitFiles {
  test::TempDir dir;
  explicit DigitFiles(int count) {
    for (int i = 0; i < count; ++i) write_png(dir / fmt::format("d{}.png", i), test::mnist_digit(i), 28, 28);
  }
};

// `hdr predict --json` over a folder: one object per file, by file name.
std::map<std::string, json> predict_json(const std::string& args) {
  const auto r = test::run_command(fmt::format("{} predict --device cpu --json {}", HDR_EXE, args),
                                   test::Capture::kStdoutOnly);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, json> out;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    out.emplace(j.at("file").get<std::string>(), j);
  }
  return out;
}

TEST(EnsemblePredict, OneModelTwiceGivesTheSameDigitsAndConfidences) {
  const DigitFiles digits(5);
  const std::string images = quoted(digits.dir.path());
  const auto alone = predict_json(fmt::format("{} {}", tutorial(), images));
  // --ensemble before the images: it takes one file, the rest are images.
  const auto twice = predict_json(fmt::format("{} --ensemble {} {}", tutorial(), tutorial(), images));
  ASSERT_EQ(alone.size(), 5u);
  EXPECT_EQ(twice, alone);
  const auto r = test::run_command(fmt::format("{} predict --device cpu {} {} --ensemble {}", HDR_EXE, tutorial(),
                                               quoted(digits.dir / "d0.png"), tutorial()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("d0.png: 7 ("), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ensemble of 2 models"), std::string::npos) << r.output;
}

TEST(EnsemblePredict, TwoModelsGiveTheMeanOfTheirProbabilities) {
  const test::TempDir dir;
  const fs::path mlp = train_mlp(dir, 2000);
  const DigitFiles digits(8);
  const std::string images = quoted(digits.dir.path());
  const auto a = predict_json(fmt::format("{} {}", tutorial(), images));
  const auto b = predict_json(fmt::format("{} {}", quoted(mlp), images));
  const auto both = predict_json(fmt::format("{} {} --ensemble {} --top 10", tutorial(), images, quoted(mlp)));
  ASSERT_EQ(both.size(), 8u);
  bool members_differ = false;
  for (const auto& [file, j] : both) {
    const json &pa = a.at(file).at("probabilities"), &pb = b.at(file).at("probabilities");
    members_differ |= pa != pb;
    std::vector<float> mean(10);
    for (size_t k = 0; k < 10; ++k) {
      mean[k] = float((pa[k].get<double>() + pb[k].get<double>()) / 2);
      EXPECT_FLOAT_EQ(j.at("probabilities")[k].get<float>(), mean[k]) << file << " class " << k;
    }
    const int best = int(std::max_element(mean.begin(), mean.end()) - mean.begin());
    EXPECT_EQ(j.at("prediction"), best) << file;
    EXPECT_FLOAT_EQ(j.at("confidence").get<float>(), mean[size_t(best)]) << file;
    EXPECT_EQ(j.at("top").size(), 10u) << file;
  }
  EXPECT_TRUE(members_differ);
}

// A model of 11 classes (the MLP with --set model.classes=11) cannot join one of 10.
TEST(EnsembleRefuses, ModelsWithOtherClassesNamingBothFiles) {
  const test::TempDir dir;
  const fs::path eleven = train_mlp(dir, 500, "--set model.classes=11 --set layer.output.units=11");
  const DigitFiles digits(1);
  for (const std::string& command : {fmt::format("{} eval --device cpu {} {}", HDR_EXE, tutorial(), quoted(eleven)),
                                     fmt::format("{} predict --device cpu {} {} --ensemble {}", HDR_EXE, tutorial(),
                                                 quoted(digits.dir / "d0.png"), quoted(eleven))}) {
    const auto r = test::run_command(command);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.output;
    EXPECT_NE(r.output.find(fmt::format("{}: takes 28x28x1 input, 11 classes, but {} takes 28x28x1 input, 10 classes",
                                        eleven.string(), test::tutorial_model().string())),
              std::string::npos)
        << command << "\n"
        << r.output;
  }
}

TEST(EnsembleRefuses, AMissingOrBrokenMemberFile) {
  const test::TempDir dir;
  const DigitFiles digits(1);
  std::ofstream(dir / "notes.hdr") << "not a checkpoint";
  const std::string image = quoted(digits.dir / "d0.png");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {fmt::format("predict {} {} --ensemble /nonexistent/b.hdr", tutorial(), image), "/nonexistent/b.hdr"},
      {fmt::format("predict {} {} --ensemble {}", tutorial(), image, quoted(dir / "notes.hdr")), "notes.hdr"},
      {fmt::format("eval {} /nonexistent/b.hdr", tutorial()), "/nonexistent/b.hdr"},
      {fmt::format("eval {} {}", tutorial(), quoted(dir / "notes.hdr")), "notes.hdr"}};
  for (const auto& [args, named] : cases) {
    const auto r = test::run_command(fmt::format("{} {} --device cpu", HDR_EXE, args));
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(named), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(r.output.find(": 7 ("), std::string::npos) << args << "\n" << r.output;  // nothing classified
  }
}

}  // namespace
}  // namespace hdr

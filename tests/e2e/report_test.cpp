// Reports of the e2e tests' shared model (tests/trained_model.h): what `hdr train` wrote next to
// it, `hdr eval --json` and `--report`, and `hdr compare` with good and bad run folders. The
// per-digit figures are recomputed here from the confusion matrix, not taken from the program.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/process.h"
#include "tests/temp_dir.h"
#include "tests/trained_model.h"

namespace hdr {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string quoted(const fs::path& p) { return fmt::format("'{}'", p.string()); }

json eval_json(const std::string& extra = "") {
  const auto r = test::run_command(std::string(HDR_EXE) + " eval --device cpu --json " +
                                       quoted(test::tutorial_model()) + " " + extra,
                                   test::Capture::kStdoutOnly);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // The whole of stdout must parse: a stray message line before or after the JSON fails here.
  return json::parse(r.output);
}

void write_text(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

TEST(TrainReport, TrainingWroteTheReportItsChartsAndRunJson) {
  const fs::path run = test::tutorial_model().parent_path();
  for (const char* file : {"report.html", "accuracy.svg", "loss.svg", "confusion.svg", "samples.svg", "samples.png",
                           "mistakes.svg", "mistakes.png", "run.json", "history.json"})
    EXPECT_TRUE(fs::is_regular_file(run / file)) << file;
  std::ifstream in(run / "run.json");
  const json record = json::parse(in);
  EXPECT_EQ(record.at("epochs"), 1);
  EXPECT_GT(record.at("test").at("accuracy").get<double>(), 0.9);
  EXPECT_GT(record.at("parameters").get<int64_t>(), 90000);
}

TEST(EvalJson, StdoutIsOneJsonDocumentWithA10x10ConfusionMatrix) {
  const json out = eval_json();
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out.at("count"), 10000);
  const json& confusion = out.at("confusion");
  ASSERT_EQ(confusion.size(), 10u);
  int64_t total = 0, correct = 0;
  for (size_t t = 0; t < 10; ++t) {
    ASSERT_EQ(confusion[t].size(), 10u);
    for (size_t p = 0; p < 10; ++p) {
      total += confusion[t][p].get<int64_t>();
      if (t == p) correct += confusion[t][p].get<int64_t>();
    }
  }
  EXPECT_EQ(total, 10000);
  EXPECT_DOUBLE_EQ(out.at("accuracy").get<double>(), double(correct) / 10000);
  // Scored on the data it was trained with, the model gives what it recorded then.
  EXPECT_EQ(out.at("recorded_accuracy"), out.at("accuracy"));
}

TEST(EvalJson, PerDigitMetricsAgreeWithTheConfusionMatrix) {
  const json out = eval_json();
  const json& confusion = out.at("confusion");
  const json& classes = out.at("classes");
  ASSERT_EQ(classes.size(), 10u);
  double macro_f1 = 0, weighted_recall = 0;
  for (size_t c = 0; c < 10; ++c) {
    double row = 0, column = 0;
    for (size_t k = 0; k < 10; ++k) {
      row += confusion[c][k].get<double>();
      column += confusion[k][c].get<double>();
    }
    const double tp = confusion[c][c].get<double>();
    const double precision = tp / column, recall = tp / row;
    const double f1 = 2 * precision * recall / (precision + recall);
    const json& m = classes[c];
    EXPECT_EQ(m.at("label"), int(c));
    EXPECT_EQ(m.at("support"), int64_t(row));
    EXPECT_NEAR(m.at("precision").get<double>(), precision, 1e-12) << c;
    EXPECT_NEAR(m.at("recall").get<double>(), recall, 1e-12) << c;
    EXPECT_NEAR(m.at("f1").get<double>(), f1, 1e-12) << c;
    // A model at ~98% separates each digit from the rest almost perfectly.
    EXPECT_GT(m.at("auc").get<double>(), 0.99) << c;
    EXPECT_LE(m.at("auc").get<double>(), 1.0) << c;
    macro_f1 += f1 / 10;
    weighted_recall += recall * row / 10000;
  }
  EXPECT_NEAR(out.at("macro_avg").at("f1").get<double>(), macro_f1, 1e-12);
  // Recall weighted by support is the accuracy.
  EXPECT_NEAR(out.at("weighted_avg").at("recall").get<double>(), weighted_recall, 1e-12);
  EXPECT_NEAR(weighted_recall, out.at("accuracy").get<double>(), 1e-12);
}

TEST(EvalReport, WritesThePageAndChartsIntoTheFolderGiven) {
  const test::TempDir dir;
  const fs::path out = dir / "eval report";
  const json result = eval_json("--report " + quoted(out));
  EXPECT_EQ(result.at("report"), (out / "report.html").string());
  for (const char* file :
       {"report.html", "confusion.svg", "samples.svg", "samples.png", "mistakes.svg", "mistakes.png"})
    EXPECT_TRUE(fs::is_regular_file(out / file)) << file;
  // An evaluation has no training curves.
  EXPECT_FALSE(fs::exists(out / "accuracy.svg"));
}

TEST(EvalReport, AFileInTheWayIsAClearError) {
  const test::TempDir dir;
  write_text(dir / "taken", "a file, not a folder");
  const auto r = test::run_command(std::string(HDR_EXE) + " eval --device cpu " + quoted(test::tutorial_model()) +
                                   " --report " + quoted(dir / "taken"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("taken: cannot make the report folder here"), std::string::npos) << r.output;
}

TEST(EvalText, PrintsTheClassificationReportAndConfusionMatrix) {
  const auto r = test::run_command(std::string(HDR_EXE) + " eval --device cpu " + quoted(test::tutorial_model()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* text : {"precision", "recall", "f1-score", "support", "macro avg", "weighted avg",
                           "Confusion matrix (rows: true label, columns: predicted)"})
    EXPECT_NE(r.output.find(text), std::string::npos) << text << " in:\n" << r.output;
}

TEST(Compare, TwoRunsGiveOnePageAndATable) {
  const test::TempDir dir;
  const fs::path run = test::tutorial_model().parent_path();
  const fs::path page = dir / "compare.html";
  const auto r = test::run_command(std::string(HDR_EXE) + " compare " + quoted(run) + " " + quoted(run) + " --out " +
                                   quoted(page));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Comparison of 2 runs"), std::string::npos) << r.output;
  std::ifstream in(page);
  const std::string html{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find(run.string()), std::string::npos);
}

// Each broken run folder is refused with exit code 2 and a message naming the file at fault, and
// no page is written.
class CompareRefuses : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path run = test::tutorial_model().parent_path();
    fs::create_directories(dir_ / "run");
    fs::copy_file(run / "run.json", dir_ / "run" / "run.json");
    fs::copy_file(run / "history.json", dir_ / "run" / "history.json");
  }
  void expect_refused(const fs::path& folder, const std::string& named, const std::string& why) {
    const auto r = test::run_command(std::string(HDR_EXE) + " compare " + quoted(folder) + " --out " +
                                     quoted(dir_ / "compare.html"));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(named), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(why), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "compare.html"));
  }
  test::TempDir dir_;
};

TEST_F(CompareRefuses, AFolderThatDoesNotExist) { expect_refused(dir_ / "nowhere", "nowhere", "no such folder"); }

TEST_F(CompareRefuses, AFolderWithoutRunJson) {
  fs::remove(dir_ / "run" / "run.json");
  expect_refused(dir_ / "run", "run/run.json", "missing");
}

TEST_F(CompareRefuses, HistoryThatIsNotJson) {
  write_text(dir_ / "run" / "history.json", "[{\"epoch\": 1, \"loss\": 0.3");
  expect_refused(dir_ / "run", "run/history.json", "not valid JSON");
}

TEST_F(CompareRefuses, HistoryWithAFieldOfTheWrongType) {
  write_text(dir_ / "run" / "history.json", R"([{"epoch": 1, "loss": "low"}])");
  expect_refused(dir_ / "run", "run/history.json", "'history[0].loss' is not a number");
}

TEST_F(CompareRefuses, AnEmptyHistory) {
  write_text(dir_ / "run" / "history.json", "[]");
  expect_refused(dir_ / "run", "run/history.json", "non-empty array");
}

}  // namespace
}  // namespace hdr

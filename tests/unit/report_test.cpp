// The report's pieces: escaping and base64 against known answers, charts that put values where
// they belong, report.html inlining exactly the SVG files it writes, and run folders that
// `hdr compare` refuses with a message naming the file and the defect.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/core/errors.h"
#include "tests/temp_dir.h"
#include "tools/report/charts.h"
#include "tools/report/report_page.h"
#include "tools/report/run_record.h"
#include "tools/report/svg.h"

namespace hdr::report {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Svg, EscapesMarkupInText) {
  EXPECT_EQ(xml_escape(R"(a<b & "c" 'd'>)"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
  Svg svg(10, 10, "<title>");
  svg.text(0, 0, "</svg><script>");
  const std::string out = std::move(svg).finish();
  EXPECT_EQ(out.find("<script>"), std::string::npos);
  EXPECT_EQ(count_of(out, "</svg>"), 1u);
}

TEST(Svg, Base64MatchesRfc4648TestVectors) {
  const auto encode = [](std::string_view s) {
    return base64(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
}

// The pixel coordinates of the first polyline's points.
std::vector<std::pair<double, double>> polyline_points(const std::string& svg) {
  const size_t at = svg.find("points=\"");
  EXPECT_NE(at, std::string::npos);
  std::istringstream in(svg.substr(at + 8, svg.find('"', at + 8) - at - 8));
  std::vector<std::pair<double, double>> out;
  double x, y;
  char comma;
  while (in >> x >> comma >> y) out.emplace_back(x, y);
  return out;
}

TEST(LineChart, HigherValuesAreDrawnHigherAndLaterEpochsFurtherRight) {
  LineChart chart{.title = "t", .x_label = "epoch", .y_label = "accuracy"};
  chart.left.push_back(Series{.name = "a", .x = {1, 2, 3}, .y = {0.5, 0.9, 0.7}, .color = "#000"});
  const auto p = polyline_points(render_line_chart(chart));
  ASSERT_EQ(p.size(), 3u);
  EXPECT_LT(p[0].first, p[1].first);
  EXPECT_LT(p[1].first, p[2].first);
  EXPECT_GT(p[0].second, p[2].second);  // SVG y grows downwards: 0.5 below 0.7 below 0.9
  EXPECT_GT(p[2].second, p[1].second);
  // Equal steps in value are equal steps in pixels (a linear axis).
  EXPECT_NEAR(p[0].second - p[2].second, (p[0].second - p[1].second) / 2, 0.11);
}

TEST(LineChart, LearningRateSpanningDecadesGetsALogAxisAndMarkersTheirLabels) {
  LineChart chart{.title = "t", .x_label = "epoch", .y_label = "loss"};
  chart.left.push_back(Series{.name = "loss", .x = {1, 2, 3}, .y = {1, 0.5, 0.25}, .color = "#000"});
  chart.right = Series{.name = "learning rate", .x = {1, 2, 3}, .y = {1e-2, 1e-3, 1e-4}, .color = "#0a0"};
  chart.markers.push_back({2, "best epoch 2", "#555"});
  const std::string svg = render_line_chart(chart);
  EXPECT_NE(svg.find(">1e-2<"), std::string::npos);
  EXPECT_NE(svg.find(">1e-4<"), std::string::npos);
  EXPECT_NE(svg.find(">best epoch 2<"), std::string::npos);
  EXPECT_NE(svg.find(">learning rate<"), std::string::npos);
}

TEST(LineChart, AnAccuracyAxisEndsAtOneEvenForASingleEpoch) {
  LineChart chart{.title = "t", .x_label = "epoch", .y_label = "accuracy", .y_max = 1.0};
  chart.left.push_back(Series{.name = "accuracy", .x = {1}, .y = {0.9}, .color = "#000"});
  const std::string svg = render_line_chart(chart);
  EXPECT_NE(svg.find(">1.0<"), std::string::npos);
  EXPECT_EQ(svg.find(">1.2<"), std::string::npos);
  chart.y_max = INFINITY;  // without the cap, the single value gets a range around it
  EXPECT_NE(render_line_chart(chart).find(">1.2<"), std::string::npos);
}

TEST(ConfusionMatrix, EveryNonZeroCountIsWrittenInItsCell) {
  const std::vector<int64_t> confusion = {50, 3, 0, 7, 40, 1, 0, 2, 61};
  const std::string svg = render_confusion_matrix(confusion, 3, "m");
  for (const char* cell : {">50<", ">3<", ">7<", ">40<", ">61<"}) EXPECT_EQ(count_of(svg, cell), 1u) << cell;
  // The counts 1 and 2 next to the row and column labels "1" and "2".
  for (const char* cell : {">1<", ">2<"}) EXPECT_EQ(count_of(svg, cell), 3u) << cell;
  // "0" appears only as the row and the column label: zero counts leave their cell empty.
  EXPECT_EQ(count_of(svg, ">0</text>"), 2u);
  EXPECT_GE(count_of(svg, "<rect"), 9u);
  EXPECT_THROW(render_confusion_matrix(confusion, 2, "m"), std::invalid_argument);
}

TEST(SampleGrid, WrongPredictionsAreMarkedInTheSvgAndFramedRedInThePng) {
  const std::vector<uint8_t> digit(28 * 28, 200);
  const std::vector<float> p = {0.1f, 0.9f};
  const std::vector<DigitSample> samples = {
      {.pixels = digit, .height = 28, .width = 28, .label = 1, .predicted = 1, .probabilities = p},
      {.pixels = digit, .height = 28, .width = 28, .label = 0, .predicted = 1, .probabilities = p}};
  const std::string svg = render_sample_grid(samples, 2, "grid");
  EXPECT_EQ(count_of(svg, "data:image/png;base64,"), 2u);
  EXPECT_EQ(count_of(svg, "true 1 \u2192 1 (90%)"), 1u);
  EXPECT_EQ(count_of(svg, "true 0 \u2192 1 (90%)"), 1u);
  EXPECT_EQ(count_of(svg, "#fdecea"), 1u);  // one wrong cell's background
  const std::vector<uint8_t> png = sample_grid_png(samples, 2);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png[1], 'P');
  EXPECT_EQ(png[2], 'N');
}

TEST(WriteReport, PageInlinesExactlyTheSvgFilesItWrites) {
  test::TempDir dir;
  LabelledImages images;
  images.images = {.count = 2, .rows = 28, .cols = 28, .pixels = std::vector<uint8_t>(2 * 28 * 28, 100)};
  images.labels = {0, 1};
  images.num_classes = 2;
  EvalResult r;
  r.count = 2;
  r.classes = 2;
  r.accuracy = 0.5;
  r.confusion = {1, 0, 1, 0};
  r.probabilities = {0.8f, 0.2f, 0.6f, 0.4f};
  const Evaluation e = analyse(r, images.labels);
  ReportInput input{.title = "run", .facts = {{"device", "cpu"}}, .config_text = "[model]\nname = <x>\n"};
  input.history = {{.epoch = 1, .loss = 1, .accuracy = 0.5, .val_loss = 1.1, .val_accuracy = 0.4, .lr = 1e-3},
                   {.epoch = 2, .loss = 0.5, .accuracy = 0.7, .val_loss = 0.9, .val_accuracy = 0.6, .lr = 5e-4}};
  input.best_epoch = 2;
  input.evaluation = &e;
  input.images = &images;
  write_report(dir.path(), input);
  const std::string page = read_text(dir / "report.html");
  for (const char* file : {"accuracy.svg", "loss.svg", "confusion.svg", "samples.svg", "mistakes.svg"}) {
    const std::string svg = read_text(dir / file);
    ASSERT_FALSE(svg.empty()) << file;
    EXPECT_NE(page.find(svg), std::string::npos) << file << " is not inlined as written";
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "samples.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "mistakes.png"));
  EXPECT_NE(page.find("name = &lt;x&gt;"), std::string::npos);               // config shown, escaped
  EXPECT_EQ(page.find("http://"), page.find("http://www.w3.org/2000/svg"));  // no network reference
  EXPECT_EQ(page.find("https://"), std::string::npos);
}

class RunFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_run_record(dir_.path(), RunRecord{.model = "mlp", .parameters = 10, .epochs = 2, .test_accuracy = 0.9});
    write_text(dir_ / "history.json",
               R"([{"epoch": 1, "loss": 1, "accuracy": 0.5, "val_loss": 1, "val_accuracy": 0.5, "lr": 0.001,)"
               R"( "seconds": 1, "images_per_second": 100}])");
  }
  // The InputError message read_run_folder gives, or "" when it accepts the folder.
  std::string error() {
    try {
      read_run_folder(dir_.path());
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }
  test::TempDir dir_;
};

TEST_F(RunFolderTest, ReadsWhatTrainWrites) {
  const RunFolder f = read_run_folder(dir_.path());
  EXPECT_EQ(f.run.model, "mlp");
  EXPECT_EQ(f.run.parameters, 10);
  EXPECT_DOUBLE_EQ(f.run.test_accuracy, 0.9);
  ASSERT_EQ(f.history.size(), 1u);
  EXPECT_DOUBLE_EQ(f.history[0].lr, 0.001);
}

TEST_F(RunFolderTest, MissingFolderOrFilesAreNamed) {
  std::filesystem::remove(dir_ / "history.json");
  EXPECT_NE(error().find("history.json: missing"), std::string::npos) << error();
  std::filesystem::remove(dir_ / "run.json");
  EXPECT_NE(error().find("run.json: missing"), std::string::npos) << error();
  EXPECT_THROW(read_run_folder(dir_ / "nowhere"), InputError);
}

TEST_F(RunFolderTest, MalformedFilesAreNamedWithTheDefect) {
  write_text(dir_ / "history.json", "[{\"epoch\": 1,");
  EXPECT_NE(error().find("history.json: not valid JSON"), std::string::npos) << error();
  write_text(dir_ / "history.json", "[]");
  EXPECT_NE(error().find("history.json: expected a non-empty array"), std::string::npos) << error();
  write_text(dir_ / "history.json", R"([{"epoch": "one"}])");
  EXPECT_NE(error().find(R"(history.json: 'history[0].epoch' is not an integer)"), std::string::npos) << error();
  write_text(dir_ / "history.json", R"([{"epoch": 1}])");
  EXPECT_NE(error().find(R"(history.json: 'history[0].loss' is missing)"), std::string::npos) << error();
  write_text(dir_ / "run.json", R"({"model": 3})");
  EXPECT_NE(error().find(R"(run.json: the field "model" is not a string)"), std::string::npos) << error();
}

}  // namespace
}  // namespace hdr::report

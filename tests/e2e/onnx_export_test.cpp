// `hdr export --onnx` checked by a runtime nobody here wrote: each config in configs/ (trained
// briefly: the weights need not be good, only the same on both sides) and an ensemble, exported
// and run in ONNX Runtime (onnxruntime-node, tests/onnx/run_model.mjs) on the 10,000 MNIST test
// images, against the engine's own Predictor (what `hdr eval` and `hdr predict` run): the same
// digit for >= 9,999 images and no probability further apart than 1e-4. Fails, not skips, when
// node or tests/onnx/node_modules is missing (tools/setup.sh installs them).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "engine/backends/backend.h"
#include "engine/inference/inference.h"
#include "engine/io/checkpoint.h"
#include "engine/io/idx.h"
#include "tests/mnist_dir.h"
#include "tests/mnist_test_set.h"
#include "tests/process.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

constexpr int kClasses = 10;

// A model of `config` trained for one epoch on 512 images, in `dir`.
std::string train_briefly(const std::string& config, const std::filesystem::path& dir) {
  const test::ProcessResult r = test::run_command(test::hdr_command(
      fmt::format("train configs/{}.ini --set train.epochs=1 --set data.train_limit=512 --device cpu --quiet --out {}",
                  config, (dir / config).string())));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return (dir / config / "model.hdr").string();
}

// The engine's probabilities for the MNIST test images, averaged over `models`.
std::vector<float> hdr_probabilities(const std::vector<std::string>& models) {
  const auto& pixels = test::mnist_test().images.pixels;
  std::vector<float> images(pixels.size());
  std::transform(pixels.begin(), pixels.end(), images.begin(), [](uint8_t v) { return float(v) / 255.0f; });
  std::vector<float> mean;
  for (const std::string& file : models) {
    const TrainedModel trained = read_trained_model(file);
    const auto backend = make_cpu_backend();
    Predictor predictor(trained, *backend);
    const std::vector<float> p = predictor.predict(images);
    if (mean.empty()) mean.assign(p.size(), 0.0f);
    for (size_t i = 0; i < p.size(); ++i) mean[i] += p[i] / float(models.size());
  }
  return mean;
}

// ONNX Runtime's probabilities for the same images.
std::vector<float> runtime_probabilities(const std::filesystem::path& onnx, const std::filesystem::path& out) {
  const MnistFiles files(test::mnist_dir());
  const test::ProcessResult r = test::run_command(
      fmt::format("node tests/onnx/run_model.mjs {} {} {}", onnx.string(), files.test_images.string(), out.string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(out, std::ios::binary);
  std::vector<float> p(size_t(10'000) * kClasses);
  in.read(reinterpret_cast<char*>(p.data()), std::streamsize(p.size() * sizeof(float)));
  EXPECT_EQ(in.gcount(), std::streamsize(p.size() * sizeof(float))) << "ONNX Runtime wrote too few probabilities";
  return p;
}

void expect_same_predictions(const std::vector<std::string>& models, const test::TempDir& dir,
                             const std::string& name) {
  std::string args = "export " + models.front() + " --onnx " + (dir / (name + ".onnx")).string();
  for (size_t i = 1; i < models.size(); ++i) args += " --ensemble " + models[i];
  const test::ProcessResult exported = test::run_command(test::hdr_command(args));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  const std::vector<float> ours = hdr_probabilities(models);
  const std::vector<float> theirs = runtime_probabilities(dir / (name + ".onnx"), dir / (name + ".f32"));
  ASSERT_EQ(ours.size(), theirs.size());
  int same = 0;
  double largest = 0;
  for (size_t i = 0; i < ours.size() / kClasses; ++i) {
    const auto a = ours.begin() + long(i * kClasses), b = theirs.begin() + long(i * kClasses);
    same += std::max_element(a, a + kClasses) - a == std::max_element(b, b + kClasses) - b;
    for (int c = 0; c < kClasses; ++c) largest = std::max(largest, double(std::abs(a[c] - b[c])));
  }
  ::testing::Test::RecordProperty("same_digit", same);
  ::testing::Test::RecordProperty("largest_difference", fmt::format("{:.2e}", largest));
  EXPECT_GE(same, 9'999) << name;
  EXPECT_LE(largest, 1e-4) << name;
}

class OnnxExport : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxExport, OnnxRuntimeAgreesWithTheEngine) {
  const test::TempDir dir;
  const std::string model = train_briefly(GetParam(), dir.path());
  expect_same_predictions({model}, dir, GetParam());
}

// Every config the project ships, listed so that EveryShippedConfigIsCovered fails for a new one.
INSTANTIATE_TEST_SUITE_P(Configs, OnnxExport,
                         ::testing::Values("cnn_tutorial", "cnn_bn", "cnn_best", "cnn_flask", "cnn_wide", "mlp",
                                           "speedrun", "speedrun_994"));

TEST(OnnxExportEnsemble, OnnxRuntimeAgreesWithTheAveragedEngine) {
  const test::TempDir dir;
  expect_same_predictions({train_briefly("cnn_tutorial", dir.path()), train_briefly("mlp", dir.path())}, dir,
                          "ensemble");
}

// The file carries hdr's version, the config the model was trained with and its test accuracy.
TEST(OnnxExportMetadata, NamesTheVersionTheConfigAndTheTestAccuracy) {
  const test::TempDir dir;
  const std::string model = train_briefly("mlp", dir.path());
  const test::ProcessResult r = test::run_command(
      test::hdr_command("export " + model + " --onnx " + (dir / "m.onnx").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::vector<unsigned char> bytes = test::read_bytes(dir / "m.onnx");
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromArray(bytes.data(), int(bytes.size())));
  std::map<std::string, std::string> meta;
  for (const auto& entry : proto.metadata_props()) meta[entry.key()] = entry.value();
  const TrainedModel trained = read_trained_model(model);
  EXPECT_EQ(meta["hdr_version"], trained.metadata.hdr_version);
  EXPECT_EQ(meta["model"], "mlp");
  EXPECT_EQ(meta["config"], trained.checkpoint.config_text);
  ASSERT_TRUE(trained.metadata.test.has_value());
  EXPECT_NEAR(std::stod(meta["test_accuracy"]), trained.metadata.test->accuracy, 1e-6);
  EXPECT_EQ(proto.graph().input(0).name(), "image");
  EXPECT_EQ(proto.graph().output(0).name(), "probabilities");
}

TEST(OnnxExportConfigs, EveryShippedConfigIsCovered) {
  std::vector<std::string> shipped;
  for (const auto& entry : std::filesystem::directory_iterator("configs"))
    if (entry.path().extension() == ".ini") shipped.push_back(entry.path().stem().string());
  std::sort(shipped.begin(), shipped.end());
  std::vector<std::string> covered = {"cnn_tutorial", "cnn_bn", "cnn_best", "cnn_flask",
                                      "cnn_wide",     "mlp",    "speedrun", "speedrun_994"};
  std::sort(covered.begin(), covered.end());
  EXPECT_EQ(shipped, covered) << "add the new config to OnnxExport's list";
}

}  // namespace
}  // namespace hdr

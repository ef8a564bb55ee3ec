// The hdr command line: parameter totals printed by `hdr info` for every reference config, and
// the exit codes and messages for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/process.h"

namespace hdr {
namespace {

using test::run_command;

std::string hdr(const std::string& args) { return std::string(HDR_EXE) + " " + args; }

TEST(CliInfo, ParameterTotalsOfTheFiveReferenceNetworks) {
  // The totals the reference projects publish (Keras model.summary()).
  const std::map<std::string, std::string> expected{
      {"cnn_bn", "Total params: 242,954\nTrainable params: 242,250\nNon-trainable params: 704"},
      {"cnn_wide", "Total params: 619,114\nTrainable params: 617,450\nNon-trainable params: 1,664"},
      {"mlp", "Total params: 567,434\nTrainable params: 567,434\nNon-trainable params: 0"},
      {"cnn_flask", "Total params: 225,034\nTrainable params: 225,034\nNon-trainable params: 0"},
      {"cnn_tutorial", "Total params: 93,322\nTrainable params: 93,322\nNon-trainable params: 0"},
  };
  for (const auto& [name, totals] : expected) {
    const auto r = run_command(hdr("info configs/" + name + ".ini"));
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.output;
    EXPECT_NE(r.output.find(totals), std::string::npos) << name << "\n" << r.output;
  }
}

TEST(CliInfo, DefaultIsTheEmbeddedCnnBn) {
  const auto r = run_command(hdr("info"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Model: \"cnn_bn\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Total params: 242,954"), std::string::npos) << r.output;
}

TEST(CliErrors, MissingConfigFileExits2) {
  const auto r = run_command(hdr("train /nonexistent/x.ini"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/x.ini"), std::string::npos) << r.output;
}

TEST(CliErrors, BadOverrideExits2AndNamesIt) {
  const auto r = run_command(hdr("train --set train.epochs=ten"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.epochs=ten"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("is not an integer"), std::string::npos) << r.output;
}

TEST(CliErrors, ImagesThatDoNotFitTheModelExit2) {
  const auto r = run_command(hdr("train --device cpu --set model.input=20x20x1"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("data/mnist holds 28x28 single-channel images but the model's [model] input is 20x20x1"),
            std::string::npos)
      << r.output;
}

TEST(CliErrors, ValidationSplitOfNoImageExits2) {
  const auto r = run_command(hdr("train --device cpu --set data.train_limit=2"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("validation_split 0.2 of 2 training images is no image at all"), std::string::npos)
      << r.output;
}

TEST(CliErrors, OtherDataFolderIsNotFilledWithMnist) {
  const auto r = run_command(hdr("train --device cpu --set data.dir=/tmp/hdr-no-such-data"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/tmp/hdr-no-such-data: the four IDX files are missing"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists("/tmp/hdr-no-such-data"));
}

TEST(CliErrors, UnknownDeviceExits2) {
  const auto r = run_command(hdr("train --device tpu"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("tpu"), std::string::npos) << r.output;
}

TEST(CliErrors, EvalOfANonCheckpointExits2) {
  const auto r = run_command(hdr("eval configs/cnn_bn.ini"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("configs/cnn_bn.ini"), std::string::npos) << r.output;
}

TEST(CliBench, ReportsThroughputFlopsAndEveryLayer) {
  const auto r = run_command(hdr("bench all --device cpu --threads 1 --steps 3 --repeats 1 --json"),
                             test::Capture::kStdoutOnly);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto json = nlohmann::json::parse(r.output);  // all of stdout: JSON and nothing else
  EXPECT_EQ(json["model"], "cnn_bn");
  EXPECT_GT(json["peak_gflops"].get<double>(), 1.0);
  // Forward FLOPs of seed 000's network, by hand: 2 x (conv 26*26*32*9 + 11*11*64*288 +
  // 3*3*128*576 + dense 1152*128 + 128*10) = 6,474,496; training is 3x that.
  EXPECT_NEAR(json["train"]["mflop_per_image"].get<double>(), 3 * 6.474496, 1e-9);
  EXPECT_GT(json["train"]["images_per_second"].get<double>(), 0.0);
  EXPECT_GT(json["infer"]["images_per_second"].get<double>(), 0.0);
  EXPECT_GT(json["infer"]["single_image_latency_ms"].get<double>(), 0.0);
  std::string ops;
  for (const auto& op : json["kernels"]["ops"]) ops += op["op"].get<std::string>() + "\n";
  for (const char* name : {"augment + labels", "conv1 forward (Conv2D)", "bn4 backward (BatchNormalization)",
                           "drop3 forward (Dropout)", "output backward (Dense)", "optimizer update"})
    EXPECT_NE(ops.find(name), std::string::npos) << name << " missing from\n" << ops;
}

}  // namespace
}  // namespace hdr

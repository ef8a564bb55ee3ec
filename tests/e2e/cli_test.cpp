// The hdr command line: parameter totals printed by `hdr info` for every config, time to
// accuracy, and the exit codes and messages for bad input (the other benchmarks: bench_test.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/process.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

using test::run_command;

using test::hdr_command;

// `hdr info configs/NAME.ini` prints these totals (Keras' model.summary() lines) for each NAME.
void expect_totals(const std::map<std::string, std::string>& totals_by_config) {
  for (const auto& [name, totals] : totals_by_config) {
    const auto r = run_command(hdr_command("info configs/" + name + ".ini"));
    EXPECT_EQ(r.exit_code, 0) << name << "\n" << r.output;
    EXPECT_NE(r.output.find(totals), std::string::npos) << name << "\n" << r.output;
  }
}

TEST(CliInfo, ParameterTotalsOfTheFiveReferenceNetworks) {
  // The totals the reference projects publish (Keras model.summary()).
  const std::map<std::string, std::string> expected{
      {"cnn_bn", "Total params: 242,954\nTrainable params: 242,250\nNon-trainable params: 704"},
      {"cnn_wide", "Total params: 619,114\nTrainable params: 617,450\nNon-trainable params: 1,664"},
      {"mlp", "Total params: 567,434\nTrainable params: 567,434\nNon-trainable params: 0"},
      {"cnn_flask", "Total params: 225,034\nTrainable params: 225,034\nNon-trainable params: 0"},
      {"cnn_tutorial", "Total params: 93,322\nTrainable params: 93,322\nNon-trainable params: 0"},
  };
  expect_totals(expected);
}

TEST(CliInfo, ParameterTotalsOfHdrsOwnConfigs) {
  // By hand. cnn_best: convs 3x3x1x32 + 32 = 320, 3x3x32x32 + 32 = 9,248, 5x5x32x32 + 32 =
  // 25,632, 3x3x32x64 + 64 = 18,496, 3x3x64x64 + 64 = 36,928, 5x5x64x64 + 64 = 102,464,
  // 4x4x64x128 + 128 = 131,200; dense 128x10 + 10 = 1,290; batch norms 4 x (32+32+32+64+64+64+128)
  // = 1,664, half of them moving statistics (832). speedrun: convs 5x5x1x16 + 16 = 416,
  // 5x5x16x32 + 32 = 12,832; dense 4x4x32x10 + 10 = 5,130; batch norms 4 x (16+32) = 192 (96).
  // speedrun_994: convs 3x3x1x32 + 32 = 320, 3x3x32x64 + 64 = 18,496, 3x3x64x128 + 128 = 73,856;
  // dense 3x3x128x10 + 10 = 11,530; batch norms 4 x (32+64+128) = 896 (448).
  const std::map<std::string, std::string> expected{
      {"cnn_best", "Total params: 327,242\nTrainable params: 326,410\nNon-trainable params: 832"},
      {"speedrun", "Total params: 18,570\nTrainable params: 18,474\nNon-trainable params: 96"},
      {"speedrun_994", "Total params: 105,098\nTrainable params: 104,650\nNon-trainable params: 448"},
  };
  expect_totals(expected);
}

TEST(CliInfo, DefaultIsTheEmbeddedCnnBn) {
  const auto r = run_command(hdr_command("info"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Model: \"cnn_bn\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Total params: 242,954"), std::string::npos) << r.output;
}

// tools/openmp_wait.h: libgomp itself reports the spin count it runs with (OMP_DISPLAY_ENV).
TEST(CliOpenMp, BoundsTheSpinUnlessTheUserChoseTheWaitPolicy) {
  const std::string display = "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose ";
  const auto bounded = run_command(display + hdr_command("--version"));
  ASSERT_EQ(bounded.exit_code, 0) << bounded.output;
  // Printed twice: by the process as started (libgomp's default), then after the re-execution.
  EXPECT_NE(bounded.output.find("GOMP_SPINCOUNT = '1000'"), std::string::npos) << bounded.output;
  EXPECT_NE(bounded.output.find("hdr "), std::string::npos) << bounded.output;

  for (const std::string users : {"GOMP_SPINCOUNT=20000", "OMP_WAIT_POLICY=active"}) {
    const auto chosen = run_command(display + users + " " + hdr_command("--version"));
    ASSERT_EQ(chosen.exit_code, 0) << users << "\n" << chosen.output;
    EXPECT_EQ(chosen.output.find("GOMP_SPINCOUNT = '1000'"), std::string::npos) << users << "\n" << chosen.output;
  }
}

TEST(CliErrors, MissingConfigFileExits2) {
  const auto r = run_command(hdr_command("train /nonexistent/x.ini"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/x.ini"), std::string::npos) << r.output;
}

TEST(CliErrors, BadOverrideExits2AndNamesIt) {
  const auto r = run_command(hdr_command("train --set train.epochs=ten"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.epochs=ten"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("is not an integer"), std::string::npos) << r.output;
}

TEST(CliErrors, ImagesThatDoNotFitTheModelExit2) {
  const auto r = run_command(hdr_command("train --device cpu --set model.input=20x20x1"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("data/mnist holds 28x28 single-channel images but the model's [model] input is 20x20x1"),
            std::string::npos)
      << r.output;
}

TEST(CliErrors, ValidationSplitOfNoImageExits2) {
  const auto r = run_command(hdr_command("train --device cpu --set data.train_limit=2"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("validation_split 0.2 of 2 training images is no image at all"), std::string::npos)
      << r.output;
}

TEST(CliErrors, OtherDataFolderIsNotFilledWithMnist) {
  const auto r = run_command(hdr_command("train --device cpu --set data.dir=/tmp/hdr-no-such-data"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/tmp/hdr-no-such-data: the four IDX files are missing"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists("/tmp/hdr-no-such-data"));
}

TEST(CliErrors, UnknownDeviceExits2) {
  const auto r = run_command(hdr_command("train --device tpu"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("tpu"), std::string::npos) << r.output;
}

TEST(CliErrors, EvalOfANonCheckpointExits2) {
  const auto r = run_command(hdr_command("eval configs/cnn_bn.ini"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("configs/cnn_bn.ini"), std::string::npos) << r.output;
}

// Two one-epoch runs of the embedded speedrun: each is a real training run (the seed-3 run scores
// exactly what `hdr train` of the same recipe scores), the means are the runs' means, and the
// scratch folders are gone afterwards.
TEST(CliBench, TimeToAccuracyTimesRealRunsOfTheSpeedrun) {
  const auto r = run_command(hdr_command("bench time-to-accuracy --device cpu --threads 2 --seeds 2 --first-seed 3 "
                                         "--target 97.5 --set train.epochs=1 --json"),
                             test::Capture::kStdoutOnly);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto json = nlohmann::json::parse(r.output);
  EXPECT_EQ(json["model"], "speedrun");
  const auto& t = json["time_to_accuracy"];
  ASSERT_EQ(t["runs"].size(), 2u);
  double accuracy = 0, seconds = 0;
  for (int i = 0; i < 2; ++i) {
    const auto& run = t["runs"][size_t(i)];
    EXPECT_EQ(run["seed"], i + 3);
    EXPECT_EQ(run["epochs"], 1);
    EXPECT_EQ(run["training_images"], 60000);
    EXPECT_GT(run["seconds"].get<double>(), 0.0);
    EXPECT_GT(run["peak_gflops"].get<double>(), 1.0);
    EXPECT_EQ(run["reached"].get<bool>(), 100.0 * run["accuracy"].get<double>() >= 97.5);
    accuracy += run["accuracy"].get<double>();
    seconds += run["seconds"].get<double>();
  }
  EXPECT_DOUBLE_EQ(t["mean_accuracy"].get<double>(), accuracy / 2);
  EXPECT_DOUBLE_EQ(t["mean_seconds"].get<double>(), seconds / 2);
  EXPECT_GT(t["mean_accuracy"].get<double>(), 0.95);  // one epoch of this network: about 98%

  const test::TempDir dir;
  const auto trained = run_command(
      hdr_command(fmt::format("train configs/speedrun.ini --device cpu --threads 2 --seed 3 "
                              "--set train.epochs=1 --quiet --out {}",
                              (dir / "run").string())));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  // "Test accuracy: 98.12% (9812 of 10000 images)": the count of right answers.
  const size_t line = trained.output.find("Test accuracy: ");
  ASSERT_NE(line, std::string::npos) << trained.output;
  const size_t open = trained.output.find('(', line);
  ASSERT_NE(open, std::string::npos) << trained.output;
  EXPECT_EQ(std::stol(trained.output.substr(open + 1)), std::lround(t["runs"][0]["accuracy"].get<double>() * 10000));

  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    EXPECT_FALSE(entry.path().filename().string().starts_with("hdr-time-to-accuracy-")) << entry.path();
}

TEST(CliBench, TimeToAccuracyRefusesARecipeThatWatchesValidation) {
  const auto split = run_command(hdr_command("bench time-to-accuracy --device cpu --config configs/cnn_bn.ini"));
  EXPECT_EQ(split.exit_code, 2) << split.output;
  EXPECT_NE(split.output.find("configs/cnn_bn.ini: time-to-accuracy needs a recipe fixed in advance on the whole "
                              "training set: data.validation_split is 0.2"),
            std::string::npos)
      << split.output;
  const auto stopping = run_command(hdr_command(
      "bench time-to-accuracy --device cpu --set early_stopping.enabled=true --set early_stopping.monitor=loss"));
  EXPECT_EQ(stopping.exit_code, 2) << stopping.output;
  EXPECT_NE(stopping.output.find("early_stopping is enabled"), std::string::npos) << stopping.output;
}

// docs/config.md is the output of `hdr config --reference`, which the parser's own key table
// writes: a key added, removed or changed without regenerating the page fails here.
TEST(CliConfig, DocsConfigMdIsTheReferenceHdrPrints) {
  const auto r = run_command(hdr_command("config --reference"), test::Capture::kStdoutOnly);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in("docs/config.md", std::ios::binary);
  ASSERT_TRUE(in) << "docs/config.md is missing: write it with build/ci/hdr config --reference > docs/config.md";
  const std::string committed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(r.output == committed)
      << "docs/config.md differs from what `hdr config --reference` prints: regenerate it with\n"
         "    build/ci/hdr config --reference > docs/config.md\n"
         "and commit it. hdr prints:\n"
      << r.output;
  for (const std::string key : {"| `epochs` | 1..10000 | `20` |", "| `rate` | dropout | [0, 1) | required |",
                                "| `stride` | conv2d, maxpool | 1..64 | `conv2d: 1; maxpool: 2` |"})
    EXPECT_NE(r.output.find(key), std::string::npos) << key;
}

TEST(CliConfig, PrintsEveryKeyAsResolvedWithOverrides) {
  const auto r = run_command(hdr_command("config configs/mlp.ini --set train.epochs=5"), test::Capture::kStdoutOnly);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The file's keys, the override, and defaults the file leaves out.
  for (const std::string line :
       {"[layer.dense1]\ntype = dense\nunits = 512\n", "[train]\nepochs = 5\n", "beta2 = 0.999\n", "[lr_schedule]\n"})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  // It is a config hdr reads back: the same resolved text again.
  const test::TempDir dir;
  const auto file = dir / "resolved.ini";
  std::ofstream(file) << r.output;
  const auto again = run_command(hdr_command("config " + file.string()), test::Capture::kStdoutOnly);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.output, r.output);

  const auto bad = run_command(hdr_command("config configs/mlp.ini --set train.epochs=0"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--set train.epochs=0: [train] epochs: 0 is out of range (1..10000)"), std::string::npos)
      << bad.output;
}

}  // namespace
}  // namespace hdr

// The hdr command line: parameter totals printed by `hdr info` for every reference config, and
// the exit codes and messages for bad input.
#include <gtest/gtest.h>

#include <map>
#include <string>

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

}  // namespace
}  // namespace hdr

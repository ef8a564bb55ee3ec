// tools/check_engine_includes.sh: the engine's libraries (engine/<folder>/) include one another
// only the way their declared dependencies go. It passes on this tree and fails, naming the file
// and the seam, on a copy with one wrong-way include or declaration planted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/process.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

namespace fs = std::filesystem;
const std::string kScript = "tools/check_engine_includes.sh";

TEST(EngineIncludes, ThisTreeFollowsTheSeams) {
  const auto r = test::run_command(kScript);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("check_engine_includes: ok (9 libraries"), std::string::npos) << r.output;
}

// A copy of engine/ and kernels/ to plant a wrong-way edge in.
class PlantedInclude : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* dir : {"engine", "kernels"}) fs::copy(dir, tree_.path() / dir, fs::copy_options::recursive);
  }
  void append(const std::string& file, const std::string& line) {
    std::ofstream(tree_.path() / file, std::ios::app) << line << "\n";
  }
  test::ProcessResult check() { return test::run_command(kScript + " '" + tree_.path().string() + "'"); }
  void expect_fails_with(const std::string& message) {
    const auto r = check();
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
  }
  test::TempDir tree_;
};

TEST_F(PlantedInclude, CopyIsCleanBeforePlanting) { EXPECT_EQ(check().exit_code, 0); }

TEST_F(PlantedInclude, InferenceIncludingTrainFails) {
  append("engine/inference/evaluate.cpp", "#include \"engine/train/trainer.h\"");
  expect_fails_with("engine/inference/evaluate.cpp:");
  expect_fails_with("includes engine/train/trainer.h: inference does not depend on train");
}

TEST_F(PlantedInclude, IoIncludingNnFails) {
  append("engine/io/idx.h", "#include \"engine/nn/model.h\"");
  expect_fails_with("includes engine/nn/model.h: io does not depend on nn");
}

TEST_F(PlantedInclude, EngineIncludingToolsFails) {
  append("engine/train/trainer.cpp", "#include \"tools/cli/commands.h\"");
  expect_fails_with("includes tools/cli/commands.h: engine/ must not depend on tools/");
}

TEST_F(PlantedInclude, KernelsIncludingEngineFails) {
  append("kernels/types.h", "#include \"engine/core/errors.h\"");
  expect_fails_with("kernels/types.h:");
  expect_fails_with("kernels/ must not depend on engine/");
}

// Declaring the wrong-way dependency in CMake does not make the include legal.
TEST_F(PlantedInclude, DeclaringAWrongWayDependencyFails) {
  const fs::path cmake = tree_.path() / "engine/inference/CMakeLists.txt";
  const std::vector<unsigned char> bytes = test::read_bytes(cmake);
  std::string text(bytes.begin(), bytes.end());
  const size_t at = text.find("DEPENDS ");
  ASSERT_NE(at, std::string::npos) << text;
  text.insert(at + 8, "train ");
  std::ofstream(cmake, std::ios::trunc) << text;
  expect_fails_with("engine/inference/CMakeLists.txt: inference must not depend on train");
}

}  // namespace
}  // namespace hdr

// tools/check_build_deps.sh, run on this test's own build folder: it passes with setup.sh's
// list, and fails naming the package when the list lacks one the build used (the OpenCL loader
// that oneDNN's CMake config needs was the real case) or when a file was installed by hand.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/process.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

const std::string kScript = "tools/check_build_deps.sh";

std::string setup_list() {
  const auto r = test::run_command("tools/setup.sh --list");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output.substr(0, r.output.find('\n'));
}

// setup.sh's list without `package`.
std::string list_without(const std::string& package) {
  std::istringstream words(setup_list());
  std::string list, word;
  bool found = false;
  while (words >> word) {
    if (word == package)
      found = true;
    else
      list.append(word).append(" ");
  }
  EXPECT_TRUE(found) << package << " is not in setup.sh's list";
  return list;
}

test::ProcessResult check(const std::string& packages, const std::string& build_dir = HDR_BUILD_DIR) {
  return test::run_command(kScript + " --packages '" + packages + "' '" + build_dir + "'");
}

TEST(CheckBuildDeps, PassesOnThisBuildWithSetupsList) {
  const auto r = test::run_command(kScript + " '" + HDR_BUILD_DIR + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("check_build_deps: ok"), std::string::npos) << r.output;
}

TEST(CheckBuildDeps, FailsNamingTheOpenClLoaderWhenTheListLacksIt) {
  const auto r = check(list_without("ocl-icd-opencl-dev"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("used ocl-icd-opencl-dev (e.g. /usr/lib/x86_64-linux-gnu/libOpenCL.so)"), std::string::npos)
      << r.output;
}

TEST(CheckBuildDeps, FailsNamingAHeaderLibraryWhenTheListLacksIt) {
  const auto r = check(list_without("libfmt-dev"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("used libfmt-dev (e.g. /usr/include/fmt/"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("ocl-icd-opencl-dev"), std::string::npos) << r.output;
}

// A build folder whose dependency file names a header that no package owns.
TEST(CheckBuildDeps, FailsOnAFileNoPackageOwns) {
  test::TempDir build, elsewhere;
  const auto header = elsewhere / "handmade.h";
  std::ofstream(header) << "#pragma once\n";
  std::filesystem::create_directories(build / "CMakeFiles/x.dir");
  std::ofstream(build / "CMakeCache.txt") << "CMAKE_CXX_COMPILER:FILEPATH=/usr/bin/c++\n";
  std::ofstream(build / "CMakeFiles/x.dir/a.cpp.o.d") << "CMakeFiles/x.dir/a.cpp.o: a.cpp \\\n " << header.string()
                                                      << " /usr/include/stdio.h\n";
  const auto r = check(setup_list(), build.path().string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("used " + header.string() + ", which no Debian package owns"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("stdio.h"), std::string::npos) << r.output;  // libc6-dev is in g++'s closure
}

TEST(CheckBuildDeps, RefusesAFolderThatIsNoBuild) {
  test::TempDir empty;
  const auto r = check(setup_list(), empty.path().string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a configured build folder"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hdr

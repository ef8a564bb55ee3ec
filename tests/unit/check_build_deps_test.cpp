// tools/check_build_deps.sh, run on this test's own build folder: it passes with setup.sh's
// list, and fails naming the package when the list lacks one the build used (the OpenCL loader
// that oneDNN's CMake config needs was the real case), when a file was installed by hand, and
// when a packaged file was edited by hand (a patched FindCUDAToolkit.cmake was the real case).
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
  EXPECT_NE(r.output.find("used ocl-icd-opencl-dev (e.g. /usr/lib/"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/libOpenCL.so)"), std::string::npos) << r.output;
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

// A package database (DPKG_ADMINDIR) in which a base-system package owns a header whose
// recorded checksum differs from the file: a hand edit a fresh machine would not have.
TEST(CheckBuildDeps, FailsOnAPackagedFileEditedByHand) {
  test::TempDir build, admin, elsewhere;
  const auto header = elsewhere / "patched.h";
  std::ofstream(header) << "// edited\n";
  std::filesystem::create_directories(admin / "info");
  std::ofstream(admin / "info/fakepkg.list") << "/.\n" << header.string() << "\n";
  std::ofstream(admin / "info/fakepkg.md5sums") << std::string(32, '0') << "  " << header.string().substr(1) << "\n";
  std::ofstream(admin / "status") << "Package: fakepkg\nStatus: install ok installed\nPriority: required\n"
                                     "Essential: yes\nVersion: 1\nArchitecture: all\nMaintainer: x\n"
                                     "Description: x\n";
  std::filesystem::create_directories(build / "CMakeFiles/x.dir");
  std::ofstream(build / "CMakeCache.txt") << "CMAKE_CXX_COMPILER:FILEPATH=/bin/true\n";
  std::ofstream(build / "CMakeFiles/x.dir/a.cpp.o.d") << "a.cpp.o: " << header.string() << "\n";
  const auto r = test::run_command("DPKG_ADMINDIR='" + admin.path().string() + "' " + kScript +
                                   " --packages fakepkg '" + build.path().string() + "'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("used " + header.string() + ", which differs from what fakepkg ships"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("does not install"), std::string::npos) << r.output;
}

// Evidence the guard cannot read must not read as a pass.
TEST(CheckBuildDeps, RefusesBuildsItCannotRead) {
  test::TempDir ninja, unbuilt;
  std::ofstream(ninja / "CMakeCache.txt") << "CMAKE_GENERATOR:INTERNAL=Ninja\n";
  auto r = check(setup_list(), ninja.path().string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("generated for Ninja"), std::string::npos) << r.output;
  std::ofstream(unbuilt / "CMakeCache.txt") << "CMAKE_GENERATOR:INTERNAL=Unix Makefiles\n";
  r = check(setup_list(), unbuilt.path().string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no compiler dependency files"), std::string::npos) << r.output;
}

TEST(CheckBuildDeps, RefusesAFolderThatIsNoBuild) {
  test::TempDir empty;
  const auto r = check(setup_list(), empty.path().string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a configured build folder"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hdr

// tools/check_build_deps.sh, run on this test's own build folder: it passes with setup.sh's
// list, and fails naming the package when the list lacks one the build used (the OpenCL loader
// that oneDNN's CMake config needs was the real case) and when a file was installed by hand. A
// packaged file edited by hand (a patched FindCUDAToolkit.cmake was the real case) is a warning
// on a user's machine and a failure in CI (CI=true) or with --strict.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
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

// setup.sh's list without `packages`.
std::string list_without(const std::set<std::string>& packages) {
  std::istringstream words(setup_list());
  std::string list, word;
  size_t found = 0;
  while (words >> word) {
    if (packages.contains(word))
      ++found;
    else
      list.append(word).append(" ");
  }
  EXPECT_EQ(found, packages.size()) << "not all of them are in setup.sh's list";
  return list;
}

// Outside CI (CI unset): what is checked here fails on a user's machine too.
test::ProcessResult check(const std::string& packages, const std::string& build_dir = HDR_BUILD_DIR) {
  return test::run_command("env -u CI " + kScript + " --packages '" + packages + "' '" + build_dir + "'");
}

TEST(CheckBuildDeps, PassesOnThisBuildWithSetupsList) {
  const auto r = test::run_command(kScript + " '" + HDR_BUILD_DIR + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("check_build_deps: ok"), std::string::npos) << r.output;
}

// One run for two packages (each run of the guard on a whole build takes seconds): a library the
// linker found (the OpenCL loader) and a header-only library (fmt), each named with a file of
// it, and nothing else but fmt's shared library, which only libfmt-dev brings in.
TEST(CheckBuildDeps, FailsNamingEachPackageTheListLacks) {
  const auto r = check(list_without({"ocl-icd-opencl-dev", "libfmt-dev"}));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("used ocl-icd-opencl-dev (e.g. /usr/lib/"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/libOpenCL.so)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("used libfmt-dev (e.g. /usr/include/fmt/"), std::string::npos) << r.output;
  std::set<std::string> named;
  std::istringstream lines(r.output);
  const std::string prefix = "check_build_deps: the build used ";
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(prefix) && line.ends_with("which tools/setup.sh does not install"))
      named.insert(line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size()));
  EXPECT_EQ(named, (std::set<std::string>{"libfmt-dev", "libfmt9", "ocl-icd-opencl-dev"})) << r.output;
}

// A build folder whose dependency file names a header that no package owns.
TEST(CheckBuildDeps, FailsOnAFileNoPackageOwns) {
  test::TempDir build, elsewhere;
  const auto header = elsewhere / "handmade.h";
  std::ofstream(header) << "#pragma once\n";
  std::filesystem::create_directories(build / "CMakeFiles/x.dir");
  std::ofstream(build / "CMakeCache.txt") << "CMAKE_CXX_COMPILER:FILEPATH=/usr/bin/c++\n";
  std::ofstream(build / "CMakeFiles/x.dir/a.cpp.o.d")
      << "CMakeFiles/x.dir/a.cpp.o: a.cpp \\\n " << header.string() << " /usr/include/stdio.h\n";
  const auto r = check(setup_list(), build.path().string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("used " + header.string() + ", which no Debian package owns"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("stdio.h"), std::string::npos) << r.output;  // libc6-dev is in g++'s closure
}

// A package database (DPKG_ADMINDIR) in which a base-system package owns a header whose
// recorded checksum differs from the file, and a build that used it: a hand edit a fresh machine
// would not have (the project's machine image ships one: FindCUDAToolkit.cmake).
class EditedPackagedFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(header_) << "// edited\n";
    std::filesystem::create_directories(admin_ / "info");
    std::ofstream(admin_ / "info/fakepkg.list") << "/.\n" << header_.string() << "\n";
    std::ofstream(admin_ / "info/fakepkg.md5sums")
        << std::string(32, '0') << "  " << header_.string().substr(1) << "\n";
    std::ofstream(admin_ / "status") << "Package: fakepkg\nStatus: install ok installed\nPriority: required\n"
                                        "Essential: yes\nVersion: 1\nArchitecture: all\nMaintainer: x\n"
                                        "Description: x\n";
    std::filesystem::create_directories(build_ / "CMakeFiles/x.dir");
    std::ofstream(build_ / "CMakeCache.txt") << "CMAKE_GENERATOR:INTERNAL=Unix Makefiles\n";
    std::ofstream(build_ / "CMakeFiles/x.dir/a.cpp.o.d") << "a.cpp.o: " << header_.string() << "\n";
  }
  // The guard with `ci` as CI's value (empty: unset) and `flags`.
  test::ProcessResult check(const std::string& ci, const std::string& flags = "") const {
    const std::string env = ci.empty() ? "env -u CI" : "env CI=" + ci;
    return test::run_command(env + " DPKG_ADMINDIR='" + admin_.path().string() + "' " + kScript + " " + flags +
                             " --packages fakepkg '" + build_.path().string() + "'");
  }
  std::string report() const {
    return "the build used " + header_.string() + ", which differs from what fakepkg ships (dpkg --verify: ??5??????";
  }

 private:
  test::TempDir build_, admin_, elsewhere_;
  std::filesystem::path header_ = elsewhere_ / "patched.h";
};

TEST_F(EditedPackagedFile, IsAWarningOnAUsersMachine) {
  for (const std::string ci : {"", "false"}) {
    const auto r = check(ci);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("check_build_deps: warning: " + report()), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("apt-get install --reinstall fakepkg"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("check_build_deps: ok"), std::string::npos) << r.output;
  }
}

TEST_F(EditedPackagedFile, FailsInCiAndWhenStrict) {
  for (const auto& [ci, flags] : {std::pair<std::string, std::string>{"true", ""}, {"", "--strict"}}) {
    const auto r = check(ci, flags);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("check_build_deps: " + report()), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("FAILED"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("does not install"), std::string::npos) << r.output;
  }
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

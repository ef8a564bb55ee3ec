// Device selection without a usable GPU (these machines and CI: the toolkit but no driver, or a
// CPU-only build): --device cuda and cuda:N fail at once with exit code 2 and one line naming
// the reason, --device auto says it uses the CPU and why, and `hdr selftest` exits 2. On a
// machine with a usable GPU these cases are skipped (tests/gpu covers that side).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "engine/backends/backend.h"
#include "engine/backends/gpu_probe.h"
#include "engine/core/errors.h"
#include "tests/process.h"

namespace hdr {
namespace {

using test::run_command;

using test::hdr_command;

bool gpu_usable() {
  const GpuProbe p = probe_gpus();
  return p.built_with_cuda && !p.devices.empty();
}

// The reason a CUDA request fails here: no driver/device, or no CUDA in this build.
bool names_the_reason(const std::string& s) {
  return s.find("no usable GPU") != std::string::npos || s.find("built without CUDA") != std::string::npos;
}

size_t lines(const std::string& s) { return size_t(std::count(s.begin(), s.end(), '\n')); }

TEST(DeviceWithoutGpu, TrainOnCudaExits2WithOneLine) {
  if (gpu_usable()) GTEST_SKIP() << "a usable GPU is present";
  const auto r = run_command(hdr_command("train --device cuda"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(lines(r.output), 1u) << r.output;
  EXPECT_NE(r.output.find("--device cuda"), std::string::npos) << r.output;
  EXPECT_TRUE(names_the_reason(r.output)) << r.output;
}

TEST(DeviceWithoutGpu, TrainOnCuda3Exits2WithOneLine) {
  if (probe_gpus().devices.size() > 3) GTEST_SKIP() << "this machine has a GPU 3";
  const auto r = run_command(hdr_command("train --device cuda:3"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(lines(r.output), 1u) << r.output;
  EXPECT_NE(r.output.find("--device cuda:3"), std::string::npos) << r.output;
  if (!gpu_usable()) {
    EXPECT_TRUE(names_the_reason(r.output)) << r.output;
  }
}

TEST(DeviceWithoutGpu, AutoSaysItUsesTheCpuAndWhy) {
  if (gpu_usable()) GTEST_SKIP() << "a usable GPU is present";
  // eval picks the backend first, then fails on the config given as a model: no training run.
  const auto r = run_command(hdr_command("eval configs/cnn_bn.ini --device auto"));
  EXPECT_NE(r.output.find("using the CPU"), std::string::npos) << r.output;
  EXPECT_TRUE(names_the_reason(r.output)) << r.output;
}

TEST(DeviceWithoutGpu, SelftestExits2WithOneLine) {
  if (gpu_usable()) GTEST_SKIP() << "a usable GPU is present";
  const auto r = run_command(hdr_command("selftest"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(lines(r.output), 1u) << r.output;
  EXPECT_TRUE(names_the_reason(r.output)) << r.output;
}

TEST(DeviceWithoutGpu, MakeCudaBackendThrowsInputError) {
  if (gpu_usable()) GTEST_SKIP() << "a usable GPU is present";
  try {
    make_cuda_backend(0);
    FAIL() << "make_cuda_backend(0) returned a backend without a usable GPU";
  } catch (const InputError& e) {
    EXPECT_TRUE(names_the_reason(e.what())) << e.what();
  }
}

TEST(DeviceOption, BadSpellingsExit2AndNameTheValue) {
  for (const std::string device : {"cuda:x", "cuda:", "gpu", "cuda:-1"}) {
    const auto r = run_command(hdr_command("train --device " + device));
    EXPECT_EQ(r.exit_code, 2) << device << "\n" << r.output;
    EXPECT_NE(r.output.find(device), std::string::npos) << device << "\n" << r.output;
  }
  const auto r = run_command(hdr_command("selftest --device cpu"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cpu"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hdr

// `hdr selftest [--device cuda[:N]] [--threads N]`: every op of the Backend interface on the GPU
// and on the CPU backend with identical inputs, then 20 training steps of the default config on
// both, step by step (the catalogue of engine/verify/backend_comparison.h, which also says the
// tolerances). This is the check of the CUDA path that needs a real GPU: the kernels' logic is
// tested in CI through the host emulation, but cuDNN/cuBLAS calls, launch configurations on the
// real device and the backend's memory handling are only exercised here. Exit 0 when everything
// agrees, 1 on any mismatch, 2 (one line) when there is no usable GPU.
#include <fmt/format.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "engine/verify/backend_comparison.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"

namespace hdr::cli {
namespace {

struct SelftestArgs {
  std::string device = "cuda";
  int threads = 0;
};

void run_selftest(const SelftestArgs& args) {
  auto gpu = open_cuda_backend(args.device);  // before any output: no GPU is one line, exit 2
  auto cpu = make_cpu_backend(args.threads);
  fmt::print("selftest: {} against {}\n\n", gpu->name(), cpu->name());
  BackendComparison t(*gpu, *cpu, stdout);
  t.print_header();
  for (const ComparisonCase& c : comparison_cases()) run_comparison(c, t);
  if (!t.failures().empty()) {
    fmt::print("\nMismatches:\n");
    for (const std::string& f : t.failures()) fmt::print("  {}\n", f);
    throw std::runtime_error(fmt::format("selftest: {} of {} checks failed", t.failures().size(), t.checks()));
  }
  fmt::print("\nselftest: all {} checks ok\n", t.checks());
}

}  // namespace

void add_selftest_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("selftest", "Run every op on the GPU and the CPU and compare, then 20 training steps");
  auto args = std::make_shared<SelftestArgs>();
  cmd->add_option("--device", args->device, "The GPU to test: cuda or cuda:N")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return cuda_device_index(v) ? "" : fmt::format("'{}' is not a GPU: expected cuda or cuda:N", v);
          },
          "cuda[:N]"))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "CPU threads of the reference backend (0: all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->callback([args] { run_selftest(*args); });
}

}  // namespace hdr::cli

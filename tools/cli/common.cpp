#include "tools/cli/common.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/errors.h"
#include "engine/gpu_probe.h"
#include "engine/idx.h"

namespace hdr::cli {
namespace fs = std::filesystem;

void DeviceOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--device", device, "Where to compute: auto (a GPU if usable, else the CPU) or cpu")
      ->check(CLI::IsMember({"auto", "cpu"}))
      ->capture_default_str();
  cmd.add_option("--threads", threads, "CPU threads for oneDNN and the kernels (0: all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
}

std::unique_ptr<Backend> make_backend(const DeviceOptions& options) {
  if (options.device == "auto") {
    const GpuProbe gpu = probe_gpus();
    if (!gpu.devices.empty())
      fmt::print("device: {} found, but this build has no CUDA backend yet: using the CPU\n", gpu.devices[0]);
    else
      fmt::print("device: {}: using the CPU\n", gpu.why_none);
  }
  return make_cpu_backend(options.threads);
}

void ensure_mnist(const std::string& dir) {
  if (MnistFiles(dir).all_present()) return;
  // The fetch script sits in tools/ of the source tree: next to the working directory, or
  // two levels above the binary (build/<preset>/hdr).
  std::vector<fs::path> candidates{"tools/fetch_mnist.sh"};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path() / "../../tools/fetch_mnist.sh");
  for (const fs::path& script : candidates) {
    if (!fs::is_regular_file(script)) continue;
    fmt::print("data: {} lacks the MNIST files: running {}\n", dir, script.string());
    std::fflush(stdout);
    const std::string cmd = fmt::format("bash '{}' '{}'", script.string(), dir);
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error(fmt::format("fetching MNIST into {} failed", dir));
    if (MnistFiles(dir).all_present()) return;
  }
  throw InputError(fmt::format("{}: the four MNIST IDX files are missing; run tools/fetch_mnist.sh {}", dir, dir));
}

bool is_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == 8 && std::string(magic, 8) == "HDRCKPT\n";
}

LoadedModel load_model(const std::string& path, Backend& backend, int max_batch) {
  LoadedModel out;
  out.checkpoint = load_checkpoint(path);
  std::vector<std::string> overrides;
  try {
    const auto meta = nlohmann::json::parse(out.checkpoint.metadata_json);
    overrides = meta.value("overrides", std::vector<std::string>{});
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: metadata is not valid JSON: {}", path, e.what()));
  }
  out.config = parse_config(out.checkpoint.config_text, path + " (embedded config)", overrides);
  out.model = std::make_unique<Model>(out.config.model, backend, max_batch);
  out.model->load_tensors(out.checkpoint.tensors, path);
  return out;
}

}  // namespace hdr::cli

#include "tools/cli/common.h"

#include <fmt/format.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <algorithm>

#include <cstdlib>
#include <filesystem>

#include "engine/backends/gpu_probe.h"
#include "engine/core/errors.h"
#include "engine/io/idx.h"

namespace hdr::cli {
namespace fs = std::filesystem;

void add_device_option(CLI::App& cmd, std::string& device, bool allow_all) {
  const std::string all = allow_all ? ", all (the CPU and cuda:0 side by side)" : "";
  cmd.add_option("--device", device,
                 "Where to compute: auto (a GPU if usable, else the CPU), cpu, cuda or cuda:N" + all)
      ->check(CLI::Validator(
          [allow_all](std::string& v) -> std::string {
            if (v == "auto" || v == "cpu" || cuda_device_index(v) || (allow_all && v == "all")) return {};
            return fmt::format("'{}' is not a device: expected auto, cpu, cuda{} or cuda:N", v,
                               allow_all ? ", all" : "");
          },
          allow_all ? "auto|cpu|cuda[:N]|all" : "auto|cpu|cuda[:N]"))
      ->capture_default_str();
}

void DeviceOptions::add_to(CLI::App& cmd, bool allow_all) {
  add_device_option(cmd, device, allow_all);
  cmd.add_option("--threads", threads, "CPU threads for oneDNN and the kernels (0: all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
}

std::optional<int> cuda_device_index(const std::string& device) {
  if (device == "cuda") return 0;
  constexpr std::string_view prefix = "cuda:";
  const std::string digits = device.starts_with(prefix) ? device.substr(prefix.size()) : "";
  if (digits.empty() || digits.size() > 4 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoi(digits);
}

std::unique_ptr<Backend> open_cuda_backend(const std::string& device) {
  const std::optional<int> index = cuda_device_index(device);
  if (!index) throw InputError(fmt::format("--device {}: expected cuda or cuda:N", device));
  try {
    return make_cuda_backend(*index);
  } catch (const InputError& e) {
    throw InputError(fmt::format("--device {}: {}", device, e.what()));
  }
}

std::unique_ptr<Backend> make_backend(const DeviceOptions& options) {
  if (options.device == "cpu") return make_cpu_backend(options.threads);
  if (options.device != "auto") return open_cuda_backend(options.device);
  const GpuProbe gpu = probe_gpus();
  if (gpu.devices.empty()) {
    fmt::print(stderr, "device: {}: using the CPU\n", gpu.why_none);
    return make_cpu_backend(options.threads);
  }
  try {
    auto backend = make_cuda_backend(0);
    fmt::print(stderr, "device: {} found: using cuda:0\n", gpu.devices[0]);
    return backend;
  } catch (const InputError& e) {
    fmt::print(stderr, "device: {} found, but {}: using the CPU\n", gpu.devices[0], e.what());
    return make_cpu_backend(options.threads);
  }
}

void ensure_mnist(const std::string& dir) {
  if (MnistFiles(dir).all_present()) return;
  // Only the default folder is filled automatically: another folder missing its files is more
  // likely a typo or a different data set (Fashion-MNIST, EMNIST) than a wish for MNIST digits.
  if (fs::path(dir).lexically_normal() != fs::path("data/mnist"))
    throw InputError(
        fmt::format("{}: the four IDX files are missing (tools/fetch_mnist.sh {} puts MNIST there)", dir, dir));
  // The fetch script sits in tools/ of the source tree: next to the working directory, or two
  // levels above the binary (build/<preset>/hdr).
  std::vector<fs::path> candidates{"tools/fetch_mnist.sh"};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path() / "../../tools/fetch_mnist.sh");
  for (const fs::path& script : candidates) {
    if (!fs::is_regular_file(script)) continue;
    // Everything the fetch says goes to stderr: stdout may be carrying --json output.
    fmt::print(stderr, "data: {} lacks the MNIST files: running {}\n", dir, script.string());
    const std::string script_path = script.string();
    char* const argv[] = {const_cast<char*>("bash"), const_cast<char*>(script_path.c_str()),
                          const_cast<char*>(dir.c_str()), nullptr};
    posix_spawn_file_actions_t to_stderr;
    posix_spawn_file_actions_init(&to_stderr);
    posix_spawn_file_actions_adddup2(&to_stderr, STDERR_FILENO, STDOUT_FILENO);
    pid_t pid = 0;
    int status = 0;
    const int spawned = posix_spawnp(&pid, "bash", &to_stderr, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&to_stderr);
    if (spawned != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error(fmt::format("fetching MNIST into {} failed (see the messages above)", dir));
    if (MnistFiles(dir).all_present()) return;
  }
  throw InputError(fmt::format("{}: the four MNIST IDX files are missing; run tools/fetch_mnist.sh {}", dir, dir));
}

DigitGeometry digit_geometry(const ModelSpec& spec, const std::string& source) {
  if (spec.input_c != 1 || spec.input_h != spec.input_w)
    throw InputError(fmt::format("{}: images of digits need a model of square single-channel input, not {}x{}x{}",
                                 source, spec.input_h, spec.input_w, spec.input_c));
  return DigitGeometry{spec.input_h, std::max(1, (spec.input_h * 20 + 14) / 28)};
}

}  // namespace hdr::cli

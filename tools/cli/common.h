// Pieces several subcommands share: backend choice, finding the data.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "engine/backends/backend.h"
#include "engine/io/config.h"
#include "engine/io/preprocess.h"

namespace hdr::cli {

// Adds --device (auto, cpu, cuda or cuda:N, validated; with allow_all also "all": every device
// side by side) bound to `device`.
void add_device_option(CLI::App& cmd, std::string& device, bool allow_all = false);

// --device and --threads, as every compute subcommand takes them.
struct DeviceOptions {
  std::string device = "auto";
  int threads = 0;
  void add_to(CLI::App& cmd, bool allow_all = false);
};

// The backend for --device: cpu; cuda or cuda:N (that GPU, or an InputError naming why it is not
// usable); auto (GPU 0 when this build has CUDA and a usable GPU, else the CPU; says which).
std::unique_ptr<Backend> make_backend(const DeviceOptions& options);

// The GPU index of "cuda" (0) or "cuda:N"; nullopt for any other spelling.
std::optional<int> cuda_device_index(const std::string& device);

// make_cuda_backend for a --device value, its InputError prefixed with the flag:
// "--device cuda:1: no usable GPU (cudaErrorInsufficientDriver: ...)".
std::unique_ptr<Backend> open_cuda_backend(const std::string& device);

// Makes sure dir holds the four MNIST files, running tools/fetch_mnist.sh when they are missing.
void ensure_mnist(const std::string& dir);

// The digit geometry of a model's input: MNIST's 20x20 box in 28x28, scaled to its size. Throws
// InputError (naming source) unless the input is square and single-channel.
DigitGeometry digit_geometry(const ModelSpec& spec, const std::string& source);

}  // namespace hdr::cli

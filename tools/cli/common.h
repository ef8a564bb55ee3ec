// Pieces several subcommands share: backend choice, finding the data, loading a model.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "engine/backend.h"
#include "engine/checkpoint.h"
#include "engine/config.h"
#include "engine/model.h"

namespace hdr::cli {

// --device and --threads, as every compute subcommand takes them.
struct DeviceOptions {
  std::string device = "auto";
  int threads = 0;
  void add_to(CLI::App& cmd);
};

// The backend for --device: cpu, or auto (a GPU when one is usable, else the CPU; says which).
std::unique_ptr<Backend> make_backend(const DeviceOptions& options);

// Makes sure dir holds the four MNIST files, running tools/fetch_mnist.sh when they are missing.
void ensure_mnist(const std::string& dir);

// A trained model read back from a checkpoint, with the config it was trained with.
struct LoadedModel {
  Checkpoint checkpoint;
  Config config;
  std::unique_ptr<Model> model;
};
LoadedModel load_model(const std::string& path, Backend& backend, int max_batch);

// True when the file starts with the checkpoint magic (else it is taken for an INI config).
bool is_checkpoint(const std::string& path);

}  // namespace hdr::cli

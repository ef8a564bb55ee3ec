// `hdr export MODEL --onnx FILE [--ensemble MODEL]...`: a trained model, or an ensemble averaging
// several, as one ONNX file that ONNX Runtime, TensorRT, OpenVINO or onnxruntime-web can run
// (tools/cli/onnx_export.h has the graph's contract; docs/export.md shows it run).
#include <fmt/format.h>

#include <cstdint>
#include <span>

#include "engine/core/atomic_file.h"
#include "engine/inference/inference.h"
#include "tools/cli/commands.h"
#include "tools/cli/onnx_export.h"

namespace hdr::cli {
namespace {

struct ExportArgs {
  std::string model, onnx;
  std::vector<std::string> ensemble;
};

void run_export(const ExportArgs& args) {
  std::vector<TrainedModel> members{read_trained_model(args.model)};
  for (const std::string& file : args.ensemble) members.push_back(read_trained_model(file));
  const std::string bytes = onnx_model_bytes(members);
  write_file_atomically(args.onnx, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  fmt::print(stderr, "export: {} ({}) -> {} ({:.1f} KiB, ONNX opset 13, checked by ONNX's checker)\n",
             members.size() == 1 ? members.front().config.model.name : fmt::format("ensemble of {}", members.size()),
             args.model, args.onnx, double(bytes.size()) / 1024);
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Write a trained model (or an ensemble) as an ONNX file");
  auto args = std::make_shared<ExportArgs>();
  cmd->add_option("model", args->model, "Trained model (model.hdr from hdr train)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--onnx", args->onnx, "The ONNX file to write (input image: uint8 [N, 28, 28])")->required();
  cmd->add_option("--ensemble", args->ensemble,
                  "Another trained model whose probabilities the graph averages with MODEL's (repeat for more)")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  cmd->callback([args] { run_export(*args); });
}

}  // namespace hdr::cli

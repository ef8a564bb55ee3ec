// `hdr info CONFIG|MODEL`: the model summary table and parameter counts, Keras-style.
#include <fmt/format.h>

#include "engine/backends/backend.h"
#include "engine/inference/inference.h"
#include "engine/nn/model.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"

namespace hdr::cli {

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a model's layers, output shapes and parameter counts");
  auto target = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  cmd->add_option("target", *target, "An INI config or a trained model (.hdr); default: the embedded cnn_bn");
  cmd->add_option("--set", *overrides, "Override a config key: section.key=value (repeatable)");
  cmd->callback([target, overrides] {
    auto backend = make_cpu_backend(1);
    if (!target->empty() && looks_like_checkpoint(*target)) {
      fmt::print("{}", build_model(read_trained_model(*target), *backend, 1)->summary());
      fmt::print("Trained model: {}\n", *target);
      return;
    }
    const Config config = target->empty() ? default_config(*overrides) : load_config(*target, *overrides);
    fmt::print("{}", Model(config.model, *backend, 1).summary());
  });
}

}  // namespace hdr::cli

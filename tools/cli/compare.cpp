// `hdr compare RUN_DIR...`: one page overlaying the accuracy and loss curves of several training
// runs (the MLP baseline against the CNNs, one config on the CPU and the GPU, two seeds) with a
// table of test accuracy, parameters, epochs, wall time and images/s per run.
#include <fmt/format.h>

#include <cmath>

#include "engine/core/atomic_file.h"
#include "engine/core/thousands.h"
#include "tools/cli/commands.h"
#include "tools/report/run_record.h"

namespace hdr::cli {

void add_compare_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("compare", "Overlay the curves of several training runs on one page, with a table");
  auto runs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>("compare.html");
  cmd->add_option("runs", *runs, "Run folders written by hdr train (each holds run.json and history.json)")->required();
  cmd->add_option("--out", *out, "The page to write")->capture_default_str();
  cmd->callback([runs, out] {
    std::vector<report::RunFolder> folders;
    for (const std::string& dir : *runs) folders.push_back(report::read_run_folder(dir));
    const std::string page = report::comparison_page(folders);
    write_file_atomically(*out, std::span(reinterpret_cast<const uint8_t*>(page.data()), page.size()),
                          Durability::kAtomicOnly);
    fmt::print("{:<24} {:>9} {:>11} {:>7} {:>10} {:>9}\n", "run", "accuracy", "parameters", "epochs", "wall time",
               "images/s");
    for (const report::RunFolder& f : folders)
      fmt::print("{:<24} {:>8.2f}% {:>11} {:>7} {:>8.1f} s {:>9}\n", f.dir.string(), 100 * f.run.test_accuracy,
                 with_thousands(f.run.parameters), f.run.epochs, f.run.wall_seconds,
                 with_thousands(int64_t(std::llround(f.run.images_per_second))));
    fmt::print("Comparison of {} runs written to {}\n", folders.size(), *out);
  });
}

}  // namespace hdr::cli

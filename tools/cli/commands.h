// Each `hdr` subcommand lives in its own file and registers itself on the app here.
// A callback returns normally on success; errors travel as exceptions to main(), which prints
// one line and sets the exit code (InputError -> 2, anything else -> 1, ExitStatus -> its code).
#pragma once

#include <CLI/CLI.hpp>

namespace hdr::cli {

// Thrown by a command that has said what happened itself and ends with a status of its own
// (hdr train stopped by a signal: 130 for SIGINT, 143 for SIGTERM); main() returns `code`.
struct ExitStatus {
  int code;
};

void add_bench_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_config_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_selftest_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_train_command(CLI::App& app);

}  // namespace hdr::cli

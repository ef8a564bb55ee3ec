// The `hdr` command line: subcommand dispatch and the one place where errors become exit codes
// (0 ok, 1 runtime failure, 2 usage or bad input, 3 a data-parallel rank gave up waiting for the
// others, 130/143 a training run stopped by SIGINT/SIGTERM).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "engine/backends/cpu_check.h"
#include "engine/backends/version.h"
#include "engine/core/errors.h"
#include "tools/cli/commands.h"
#include "tools/openmp_wait.h"

int main(int argc, char** argv) {
  hdr::cli::bound_openmp_spin(argv);
  // Before any kernel can run: a binary built for a newer CPU stops here, not with SIGILL.
  if (const std::string mismatch = hdr::cpu_kernel_mismatch(); !mismatch.empty()) {
    fmt::print(stderr, "hdr: error: {}\n", mismatch);
    return 1;
  }
  CLI::App app{"hdr: train, evaluate, profile and serve handwritten digit recognisers on NVIDIA GPUs or the CPU"};
  app.name("hdr");
  app.require_subcommand(0, 1);
  app.set_version_flag(
      "--version", [] { return hdr::version_report(); }, "Print version, libraries, CPU ISA and GPUs");
  hdr::cli::add_train_command(app);
  hdr::cli::add_eval_command(app);
  hdr::cli::add_info_command(app);
  hdr::cli::add_config_command(app);
  hdr::cli::add_predict_command(app);
  hdr::cli::add_export_command(app);
  hdr::cli::add_serve_command(app);
  hdr::cli::add_bench_command(app);
  hdr::cli::add_compare_command(app);
  hdr::cli::add_data_command(app);
  hdr::cli::add_selftest_command(app);

  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      fmt::print("{}", app.help());
      return 0;
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const hdr::cli::ExitStatus& e) {
    return e.code;
  } catch (const std::exception& e) {
    fmt::print(stderr, "hdr: error: {}\n", e.what());
    return hdr::exit_status_of(e);
  }
  return 0;
}

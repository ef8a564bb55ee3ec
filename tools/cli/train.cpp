// `hdr train [CONFIG]`: trains a model from an INI config (default: the embedded cnn_bn, seed
// 000's network and recipe), prints one Keras-like line per epoch, evaluates on the test set
// and leaves model.hdr, best.hdr, history.csv and history.json in --out.
// `hdr train --resume RUN_DIR|CKPT` continues a run from its checkpoint, with the config it was
// trained with; a CONFIG given too must match it, except for the keys --set changes. A fresh run
// into a folder holding a run under way is refused (it would replace that run's checkpoint).
//
// SIGINT or SIGTERM: the run finishes its step, saves model.hdr, prints the command that resumes
// it and exits 128 + the signal (130, 143), as a shell reports a process the signal ended. A
// second signal ends the process at once (tools/cli/signal_watcher.h); the checkpoint written
// last stays whole (every write is atomic).
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <optional>
#include <span>

#include "engine/backends/build_info.h"
#include "engine/backends/gpu_probe.h"
#include "engine/backends/version.h"
#include "engine/core/atomic_file.h"
#include "engine/core/errors.h"
#include "engine/distributed/communicator.h"
#include "engine/distributed/rank_gpu.h"
#include "engine/io/run_checkpoint.h"
#include "engine/nn/dataset.h"
#include "engine/profile/profiling_backend.h"
#include "engine/train/trainer.h"
#include "tools/cli/bench_compare.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"
#include "tools/cli/finetune.h"
#include "tools/cli/op_profile.h"
#include "tools/cli/run_report.h"
#include "tools/cli/signal_watcher.h"
#include "tools/cli/training_progress.h"

namespace hdr::cli {
namespace {
namespace fs = std::filesystem;

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out, resume;
  int64_t seed = -1;
  DeviceOptions device;
  bool quiet = false;
  bool profile = false;
  std::string finetune, data_extra;
  double extra_share = 0.1, extra_holdout = 0.2;
};

// A word as a shell reads it back: as it is when plain, else in single quotes.
std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789_./:=,+-") == std::string::npos;
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// hdr as the user invoked it (argv[0]: "hdr", "./build/ci/hdr", ...).
std::string program_name() {
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  std::string argv0;
  std::getline(cmdline, argv0, '\0');
  return argv0.empty() ? "hdr" : argv0;
}

// The command that continues the run in out_dir on the same device, thread count and number of
// processes.
std::string resume_command(const TrainArgs& args, const fs::path& out_dir, int ranks) {
  std::string command = fmt::format("{}{} train --resume {}", ranks > 1 ? fmt::format("mpirun -np {} ", ranks) : "",
                                    shell_word(program_name()), shell_word(out_dir.string()));
  if (args.device.device != "auto") command += " --device " + shell_word(args.device.device);
  if (args.device.threads != 0) command += fmt::format(" --threads {}", args.device.threads);
  if (args.quiet) command += " --quiet";
  return command;
}

// The run's config from its checkpoint, with what --set changes said.
Config resumed_config(const TrainArgs& args, const std::vector<std::string>& overrides, const ResumePoint& point) {
  std::optional<Config> given;
  if (!args.config.empty()) given = load_config(args.config, overrides);
  std::vector<ConfigChange> changes;
  Config config = resume_config(point, given ? &*given : nullptr, overrides, changes);
  const TrainingState& s = *point.metadata.resume;
  fmt::print("resume: {}: stopped {} (step {})\n", point.file.string(), describe_position(s.epoch, s.batch), s.step);
  for (const ConfigChange& c : changes)
    fmt::print("resume: --set changes {}: {} -> {}\n", c.key, shown_config_value(c.before),
               shown_config_value(c.after));
  return config;
}

void print_stop(const TrainArgs& args, const TrainResult& r, const fs::path& out_dir, int signal, int epochs,
                int ranks) {
  const char* name = signal == SIGTERM ? "SIGTERM" : "SIGINT";
  if (!r.checkpoint_saved) {
    fmt::print("Stopped by {} before the first step: nothing to save\n", name);
    return;
  }
  const std::string where = describe_position(r.epochs_done, r.batches_done, epochs, r.steps_per_epoch);
  fmt::print("Stopped by {} {} (step {}): the run is saved in {}\n", name, where, r.steps, r.checkpoint.string());
  fmt::print("Resume it with: {}\n", resume_command(args, out_dir, ranks));
  std::fflush(stdout);
}

// A fresh run into a folder whose model.hdr holds a run under way would replace that run: refused,
// with the command that continues it. A model.hdr that does not read is left to be replaced.
void refuse_to_replace_a_run(const TrainArgs& args, const fs::path& out_dir) {
  const fs::path file = out_dir / "model.hdr";
  std::error_code ec;
  if (!fs::exists(file, ec)) return;
  std::optional<TrainingState> under_way;
  try {
    under_way = parse_run_metadata(load_checkpoint(file).metadata_json, file.string()).resume;
  } catch (const std::exception&) {
    return;
  }
  if (!under_way) return;
  throw InputError(fmt::format(
      "{}: holds a run under way, stopped {} (step {}); a fresh run would replace it. Continue it with: {}; or "
      "train afresh into another folder with --out",
      file.string(), describe_position(under_way->epoch, under_way->batch), under_way->step,
      resume_command(args, out_dir, under_way->ranks)));
}

// The per-op breakdown of the run's steps, printed and kept as profile.json (the bench schema, so
// `hdr bench compare` reads two of them).
void report_profile(ProfilingBackend& profiler, const TrainResult& r, const fs::path& out_dir) {
  const nlohmann::json profile = op_profile_json(profiler.rows(), profiler.steps(), nullptr);
  const double op_seconds = profile["ms_per_step"].get<double>() * 1e-3 * double(profiler.steps());
  fmt::print("\nProfile of the {} training steps (ops timed on the device's clock; {:.1f} s of op time, {:.0f}% of "
             "the {:.1f} s run): ",
             profiler.steps(), op_seconds, r.seconds > 0 ? 100.0 * op_seconds / r.seconds : 0.0, r.seconds);
  print_op_profile(profile);
  const nlohmann::json file = {{"schema", kBenchSchema},
                               {"command", "train --profile"},
                               {"hdr", fmt::format("{} ({})", HDR_VERSION, git_revision())},
                               {"devices", nlohmann::json::array({{{"device", "run"},
                                                                   {"available", true},
                                                                   {"backend", profiler.name()},
                                                                   {"run_seconds", r.seconds},
                                                                   {"kernels", profile}}})}};
  const std::string text = file.dump(2) + "\n";
  write_file_atomically(out_dir / "profile.json",
                        std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  fmt::print("Profile saved to {}\n", (out_dir / "profile.json").string());
}

// This machine's name, for the layout and the GPU check.
std::string host_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "?";
  return host;
}

// The rank's backend: one GPU per rank on each machine (engine/distributed/rank_gpu.h) where the
// run is on GPUs (--device cuda, or auto with a GPU present), else as in one process. Every rank
// gathers every rank's choice before any refuses, so that all refuse alike.
std::unique_ptr<Backend> make_rank_backend(DeviceOptions device, Communicator& communicator) {
  if (communicator.size() == 1) return make_backend(device);
  const GpuProbe probe = probe_gpus();
  const bool gpus = device.device == "cuda" || (device.device == "auto" && !probe.devices.empty());
  if (!gpus) return make_backend(device);
  const int visible = int(probe.devices.size());
  const int gpu = visible > 0 ? rank_gpu(communicator.local_rank(), visible) : -1;
  const std::vector<std::string> chosen = communicator.gather(host_name() + " " +
                                                              (gpu >= 0 ? probe.device_uuids[size_t(gpu)] : "no GPU"));
  const auto in_rank = [&](const std::string& what) {
    return InputError(fmt::format("rank {} (local rank {} on its machine): {}", communicator.rank(),
                                  communicator.local_rank(), what));
  };
  if (gpu < 0) throw in_rank(probe.why_none);
  if (const auto shared = shared_gpu(chosen)) throw in_rank(*shared);
  device.device = fmt::format("cuda:{}", gpu);
  try {
    return make_backend(device);
  } catch (const InputError& e) {
    throw in_rank(e.what());
  }
}

// mpirun -np N: what the run is spread over, rank by rank (a collective: every rank calls it).
void print_layout(Communicator& communicator, const Backend& backend, const Config& config) {
  const std::vector<std::string> ranks = communicator.gather(fmt::format("{}, {}", host_name(), backend.name()));
  fmt::print("distributed: {}; each global batch of {} split into {} slices, batch norm {}\n", communicator.describe(),
             config.train.batch_size, communicator.size(),
             config.train.sync_batchnorm ? "synchronised (global batch statistics)" : "per rank");
  for (size_t r = 0; r < ranks.size(); ++r) fmt::print("  rank {}: {}\n", r, ranks[r]);
}

// What a fine-tune changed: MNIST test accuracy (a fall over 0.1 pp is flagged) and, with
// --data-extra, accuracy on the corrections held out.
void report_finetune(double test_before, double test_after, std::optional<double> held_out_before,
                     const std::optional<ExtraData>& extra, Backend& backend, const fs::path& model) {
  const double change = 100 * (test_after - test_before);
  fmt::print("finetune: MNIST test accuracy {:.2f}% -> {:.2f}% ({:+.2f} pp){}\n", 100 * test_before, 100 * test_after,
             change, change < -0.1 ? ": fell by more than 0.1 pp, try a smaller learning rate or --extra-share" : "");
  if (held_out_before) {
    const std::optional<double> after = accuracy_of(read_trained_model(model), backend, extra->held_out);
    fmt::print("finetune: held-out corrections {:.1f}% -> {:.1f}% ({} images)\n", 100 * *held_out_before, 100 * *after,
               extra->held_out.count());
  }
}

void train_as_rank(const TrainArgs& args, Communicator& communicator, std::atomic<bool>& stop,
                   const SignalWatcher& signals) {
  std::vector<std::string> overrides = args.overrides;
  if (args.seed >= 0) overrides.push_back(fmt::format("train.seed={}", args.seed));
  std::optional<ResumePoint> resume;
  if (!args.resume.empty()) resume = read_resume_point(args.resume);
  std::optional<TrainedModel> start;
  if (!args.finetune.empty()) {
    if (!args.config.empty())
      throw InputError(fmt::format("--finetune {} trains with that model's config: leave out {} and give changes with "
                                   "--set section.key=value",
                                   args.finetune, args.config));
    start = read_trained_model(args.finetune);
  }
  const Config config = resume                ? resumed_config(args, overrides, *resume)
                        : start               ? finetune_config(*start, overrides)
                        : args.config.empty() ? default_config(overrides)
                                              : load_config(args.config, overrides);
  TrainOptions options;
  options.out_dir = !args.out.empty() ? fs::path(args.out)
                    : resume          ? resume->file.parent_path()
                                      : fs::path("runs/" + config.model.name);
  if (options.out_dir.empty()) options.out_dir = ".";
  prepare_output_dir(options.out_dir);  // before the data is read and anything trained
  if (!resume) refuse_to_replace_a_run(args, options.out_dir);
  DeviceOptions device = args.device;
  communicator.set_timeout(config.train.collective_timeout);
  if (resume && resume->metadata.resume->ranks != communicator.size())
    fmt::print("resume: the run was trained by {} process{} and goes on with {}: its global batches are sliced "
               "anew, so it does not continue bit for bit as it would have\n",
               resume->metadata.resume->ranks, resume->metadata.resume->ranks == 1 ? "" : "es", communicator.size());
  auto backend = make_rank_backend(device, communicator);
  // One rank fetches a missing MNIST; the others wait for it rather than write the same files.
  if (communicator.rank() == 0) ensure_mnist(config.data.dir);
  if (communicator.size() > 1) communicator.any(false);
  Datasets data = load_datasets(config.data, config.model, config.train.seed);
  std::optional<ExtraData> extra;
  if (!args.data_extra.empty())
    extra = mix_in_extra(data, args.data_extra, config, args.extra_share, args.extra_holdout);
  std::optional<double> held_out_before, test_before;
  if (start) {
    options.start_from = &start->checkpoint.tensors;
    options.start_from_source = start->source;
    test_before = accuracy_of(*start, *backend, data.test);
    if (extra) held_out_before = accuracy_of(*start, *backend, extra->held_out);
  }

  // --quiet: no progress, and no notes either.
  std::optional<TrainingProgress> progress;
  if (!args.quiet) options.callbacks.push_back(&progress.emplace(data.validation.count() > 0));
  options.stop_requested = &stop;
  options.resume = resume ? &*resume : nullptr;
  options.communicator = &communicator;
  fmt::print("config: {}{}\n", config.source,
             config.overrides.empty() ? "" : fmt::format(" (--set {})", fmt::join(config.overrides, " ")));
  fmt::print("backend: {}\n", backend->name());
  if (communicator.size() > 1) print_layout(communicator, *backend, config);
  fmt::print("data: {}: {} training, {} validation, {} test images\n", config.data.dir, data.train.count(),
             data.validation.count(), data.test.count());
  if (start) fmt::print("finetune: from {}\n", start->source);
  if (extra)
    fmt::print(
        "extra: {}: {} corrections, {} held out; {} trained on, {} copies each: {:.1f}% of the training images\n",
        extra->dir, extra->stored, extra->held_out.count(), extra->trained_on, extra->copies,
        100.0 * extra->trained_on * extra->copies / data.train.count());
  fmt::print("train: {} epochs, batch {}, learning rate {}, seed {}, augmentation {}{}{}\n", config.train.epochs,
             config.train.batch_size, config.train.learning_rate, config.train.seed,
             config.augment.enabled ? "on" : "off",
             config.train.label_smoothing > 0 ? fmt::format(", label smoothing {}", config.train.label_smoothing) : "",
             config.train.ema > 0 ? fmt::format(", weight average (ema) {}", config.train.ema) : "");
  std::fflush(stdout);

  // --profile: the run goes through a profiler around the device's backend, which times the
  // steps' ops; everything else (evaluation, checkpoints) runs through it untimed.
  std::optional<ProfilingBackend> profiler;
  if (args.profile) {
    profiler.emplace(*backend);
    options.profiler = &*profiler;
  }
  Backend& run_on = profiler ? static_cast<Backend&>(*profiler) : *backend;
  const TrainResult r = train(config, run_on, data, options);
  if (r.interrupted) {
    // A rank stopped because another one was signalled (the ranks agree on a stop) says SIGINT.
    const int signal = signals.caught() != 0 ? signals.caught() : SIGINT;
    print_stop(args, r, options.out_dir, signal, config.train.epochs, communicator.size());
    throw ExitStatus{128 + signal};
  }
  fmt::print("Test accuracy: {:.2f}% ({} of {} images), loss {:.4f}\n", 100.0 * r.test.accuracy,
             int64_t(r.test.accuracy * r.test.count + 0.5), r.test.count, r.test.loss);
  fmt::print("Trained {} epochs in {:.1f} s{}; model saved to {}\n", r.history.size(), r.seconds,
             r.stopped_early ? " (early stop)" : "", r.checkpoint.string());
  if (communicator.rank() != 0) return;
  if (start) report_finetune(*test_before, r.test.accuracy, held_out_before, extra, *backend, r.checkpoint);
  report_training_run(config, *backend, data, r, options.out_dir);
  if (profiler) report_profile(*profiler, r, options.out_dir);
}

void run_train(const TrainArgs& args) {
  // From here on a signal asks the run to stop after its current step (first, before the
  // backend's threads start, so that they inherit the blocked mask).
  std::atomic<bool> stop{false};
  const SignalWatcher signals("train", [&stop](int caught) {
    if (caught != 0) stop = true;
  });
  // mpirun -np N: one rank of a data-parallel run. Rank 0 speaks and writes for the run; the
  // others' standard output goes nowhere (their errors still reach stderr).
  const std::unique_ptr<Communicator> communicator = make_communicator();
  if (communicator->rank() != 0 && !std::freopen("/dev/null", "w", stdout))
    throw std::runtime_error("rank " + std::to_string(communicator->rank()) + ": cannot silence standard output");
  try {
    train_as_rank(args, *communicator, stop, signals);
  } catch (const ExitStatus&) {
    throw;  // a stop the ranks agreed on: each ends by itself
  } catch (const std::exception& e) {
    end_run_after_failure(*communicator, e);
  }
}
}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model from an INI config on MNIST-format data");
  cmd->footer(
      "Data-parallel: mpirun -np N hdr train ... trains one model with N processes, each on its slice of every "
      "global batch ([train] batch_size), one GPU per rank on GPUs; [train] sync_batchnorm and collective_timeout "
      "tune it (docs/distributed.md).");
  auto args = std::make_shared<TrainArgs>();
  cmd->add_option("config", args->config,
                  "INI config (default: the embedded configs/cnn_bn.ini; with --resume: must match the run's)")
      ->check(CLI::ExistingFile);
  auto* resume_option =
      cmd->add_option("--resume", args->resume,
                      "Continue the run saved in RUN_DIR/model.hdr (or in the checkpoint file named), with its config")
          ->option_text("RUN_DIR|CKPT");
  cmd->add_option("--set", args->overrides, "Override a config key: section.key=value (repeatable)");
  cmd->add_option("--out", args->out,
                  "Folder for model.hdr, best.hdr, history.csv, history.json (default: runs/<model name>; with "
                  "--resume: the run's folder)");
  cmd->add_option("--seed", args->seed, "Random seed (overrides train.seed)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--finetune", args->finetune,
                  "Start from this trained model's weights, with its config: 1 epoch at a tenth of its learning "
                  "rate unless --set says otherwise; reports the MNIST test accuracy before and after")
      ->check(CLI::ExistingFile)
      ->excludes(resume_option);
  cmd->add_option("--data-extra", args->data_extra,
                  "Also train on the corrections in this folder (hdr serve --corrections DIR), some held out")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--extra-share", args->extra_share,
                  "--data-extra: the share of the training images (so of each batch, on average) that are corrections")
      ->check(CLI::Range(0.001, 0.9))
      ->capture_default_str();
  cmd->add_option("--extra-holdout", args->extra_holdout,
                  "--data-extra: the share of the corrections kept out of training, to measure on")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_flag("--quiet", args->quiet, "No per-epoch progress output");
  cmd->add_flag("--profile", args->profile,
                "Time every op of every training step on the device's clock; at the end print the breakdown by "
                "layer, loss, optimizer and data, and save it as profile.json in the run's folder");
  args->device.add_to(*cmd);
  cmd->callback([args] { run_train(*args); });
}

}  // namespace hdr::cli

// Nothing lost: a run stopped by a real SIGINT (after an epoch, or mid-epoch) and resumed ends
// bit-identical to one never stopped (CPU, same seed and threads); hdr train exits 130 / 143 on
// SIGINT / SIGTERM with a loadable checkpoint and the command that resumes it; damaged
// checkpoints, an unusable --out, a full disk and a diverging loss are each a clear error that
// keeps the last good checkpoint.
//
// The runs are a small network with every kind of state a run carries (batch-norm statistics,
// dropout, augmentation, Adam, a plateau schedule, early stopping with best weights) on a few
// thousand MNIST images, so each takes a second or less.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/core/errors.h"
#include "engine/inference/evaluate.h"
#include "engine/inference/inference.h"
#include "engine/io/checkpoint.h"
#include "engine/io/run_checkpoint.h"
#include "engine/nn/dataset.h"
#include "engine/train/trainer.h"
#include "tests/file_size_limit.h"
#include "tests/mnist_dir.h"
#include "tests/process.h"
#include "tests/small_network.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {
namespace fs = std::filesystem;

constexpr int kThreads = 2;

// The small network on 3 epochs of a recipe with state of every kind (Adam, augmentation, a
// plateau schedule, early stopping with best weights); with train_limit 640 the split leaves 512
// training images: 16 steps per epoch.
std::string small_run_ini() {
  return std::string(test::kSmallNetworkIni) + R"([data]
dir = )" +
         test::mnist_dir() +
         R"(
validation_split = 0.2
train_limit = 640
[augment]
enabled = true
rotation = 10
width_shift = 0.1
height_shift = 0.1
zoom = 0.1
[train]
epochs = 3
batch_size = 32
learning_rate = 0.002
seed = 5
[early_stopping]
enabled = true
monitor = val_loss
patience = 2
restore_best_weights = true
[lr_schedule]
type = plateau
monitor = val_loss
factor = 0.5
patience = 1
)";
}

fs::path write_config(const test::TempDir& dir) {
  const fs::path path = dir / "small.ini";
  std::ofstream(path) << small_run_ini();
  return path;
}

using test::hdr_command;

bool same_bits(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].shape != b[i].shape || a[i].data != b[i].data) return false;
  return true;
}

// ---- in-process runs, stopped by a SIGINT the test raises after a chosen step

std::atomic<bool> g_stop{false};
extern "C" void stop_on_sigint(int) { g_stop = true; }

struct SmallRun {
  explicit SmallRun(const std::vector<std::string>& overrides = {})
      : config(load_config(write_config(dir), overrides)),
        backend(make_cpu_backend(kThreads)),
        data(load_datasets(config.data, config.model, config.train.seed)) {
    std::vector<int32_t> first(500);  // a 500-image test set: the final evaluation stays cheap
    std::iota(first.begin(), first.end(), 0);
    data.test = subset(data.test, first);
  }

  // Trains into out (continuing `resume` when given); raises SIGINT after optimizer step
  // `sigint_after` (0: never).
  TrainResult train_into(const fs::path& out, int64_t sigint_after = 0, const ResumePoint* resume = nullptr,
                         std::function<void(int64_t)> also = {}) {
    TrainOptions o;
    o.out_dir = out;
    o.resume = resume;
    o.stop_requested = &g_stop;
    o.after_step = [sigint_after, also](int64_t step) {
      if (step == sigint_after) std::raise(SIGINT);
      if (also) also(step);
    };
    g_stop = false;
    const auto previous = std::signal(SIGINT, stop_on_sigint);
    struct Restore {
      decltype(previous) handler;
      ~Restore() { std::signal(SIGINT, handler); }
    } restore{previous};
    return train(config, *backend, data, o);
  }

  test::TempDir dir;
  Config config;
  std::unique_ptr<Backend> backend;
  Datasets data;
};

void expect_same_run(const TrainResult& resumed, const TrainResult& whole) {
  ASSERT_EQ(resumed.history.size(), whole.history.size());
  for (size_t i = 0; i < whole.history.size(); ++i) {
    SCOPED_TRACE(i + 1);
    EXPECT_EQ(resumed.history[i].loss, whole.history[i].loss);
    EXPECT_EQ(resumed.history[i].accuracy, whole.history[i].accuracy);
    EXPECT_EQ(resumed.history[i].val_loss, whole.history[i].val_loss);
    EXPECT_EQ(resumed.history[i].val_accuracy, whole.history[i].val_accuracy);
    EXPECT_EQ(resumed.history[i].lr, whole.history[i].lr);
  }
  EXPECT_EQ(resumed.best_epoch, whole.best_epoch);
  EXPECT_EQ(resumed.stopped_early, whole.stopped_early);
  EXPECT_EQ(resumed.steps, whole.steps);
  EXPECT_EQ(resumed.test.loss, whole.test.loss);
  EXPECT_EQ(resumed.test.confusion, whole.test.confusion);
  EXPECT_TRUE(same_bits(load_checkpoint(resumed.checkpoint).tensors, load_checkpoint(whole.checkpoint).tensors))
      << "the final weights differ";
}

// Interrupted after `steps` optimizer steps, resumed from the folder: the same run to the bit.
void check_resume_after(int64_t steps, int expect_epochs_done, int expect_batches_done,
                        const std::vector<std::string>& overrides = {}) {
  SmallRun run(overrides);
  const TrainResult whole = run.train_into(run.dir / "whole");
  ASSERT_EQ(whole.steps_per_epoch, 16);
  ASSERT_EQ(whole.history.size(), 3u);

  const TrainResult stopped = run.train_into(run.dir / "stopped", steps);
  ASSERT_TRUE(stopped.interrupted);
  ASSERT_TRUE(stopped.checkpoint_saved);
  EXPECT_EQ(stopped.epochs_done, expect_epochs_done);
  EXPECT_EQ(stopped.batches_done, expect_batches_done);
  EXPECT_EQ(stopped.steps, steps);

  const ResumePoint point = read_resume_point(run.dir / "stopped");
  EXPECT_EQ(point.metadata.resume->step, steps);
  const TrainResult resumed = run.train_into(run.dir / "stopped", 0, &point);
  EXPECT_FALSE(resumed.interrupted);
  expect_same_run(resumed, whole);
}

TEST(Resume, SigintAfterEpoch1ThenResumeIsBitIdentical) { check_resume_after(16, 1, 0); }

TEST(Resume, SigintMidEpochThenResumeIsBitIdentical) { check_resume_after(16 + 7, 1, 7); }

TEST(Resume, SigintInTheFirstEpochThenResumeIsBitIdentical) { check_resume_after(3, 0, 3); }

// Raised in the last step: the stop is honoured before the final evaluation, which the resumed
// run then does.
TEST(Resume, SigintInTheLastStepThenResumeIsBitIdentical) { check_resume_after(48, 3, 0); }

// The weight average and label smoothing carry over too: the average is part of the run's state.
TEST(Resume, WithWeightAverageAndLabelSmoothingResumeIsBitIdentical) {
  check_resume_after(16 + 7, 1, 7, {"train.ema=0.9", "train.label_smoothing=0.1"});
}

// With [train] ema, a run under way keeps the average in its checkpoint ("ema/") beside the live
// weights, which differ from it; what a run evaluates and saves is the weights the final model.hdr
// holds: scored again, they give exactly the recorded test result.
TEST(Resume, WeightAverageIsKeptEvaluatedAndSaved) {
  SmallRun run({"train.ema=0.9"});
  run.train_into(run.dir / "stopped", 16 + 2);
  const Checkpoint ck = load_checkpoint(run.dir / "stopped" / "model.hdr");
  const NamedTensor* live = find_tensor(ck, "conv.kernel");
  const NamedTensor* average = find_tensor(ck, "ema/conv.kernel");
  ASSERT_NE(live, nullptr);
  ASSERT_NE(average, nullptr);
  EXPECT_NE(live->data, average->data);
  EXPECT_NE(find_tensor(ck, "ema/bn.moving_mean"), nullptr);

  const TrainResult whole = run.train_into(run.dir / "whole");
  const TrainedModel trained = read_trained_model(whole.checkpoint);
  auto model = build_model(trained, *run.backend, kEvalBatch);
  const DeviceImages test_set(*run.backend, run.data.test);
  const EvalResult again = evaluate(*model, *run.backend, test_set, scaling_only(run.config.data));
  EXPECT_EQ(again.loss, whole.test.loss);
  EXPECT_EQ(again.confusion, whole.test.confusion);
}

// A run without an average cannot be resumed with one: there is nothing to continue.
TEST(Resume, AddingAWeightAverageToARunIsRefused) {
  SmallRun plain;
  plain.train_into(plain.dir / "r", 16 + 2);
  const ResumePoint point = read_resume_point(plain.dir / "r");
  SmallRun averaged({"train.ema=0.9"});
  try {
    averaged.train_into(plain.dir / "r", 0, &point);
    FAIL() << "resumed with an average the run never kept";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train.ema"), std::string::npos) << e.what();
  }
}

TEST(Resume, TheCheckpointHoldsOptimizerAndBestWeights) {
  SmallRun run;
  run.train_into(run.dir / "r", 16 + 2);
  const Checkpoint ck = load_checkpoint(run.dir / "r" / "model.hdr");
  EXPECT_NE(find_tensor(ck, "moment1/conv.kernel"), nullptr);
  EXPECT_NE(find_tensor(ck, "moment2/out.bias"), nullptr);
  EXPECT_NE(find_tensor(ck, "best/bn.moving_mean"), nullptr);
  // best.hdr: the best epoch's weights alone, loadable as a model.
  const Checkpoint best = load_checkpoint(run.dir / "r" / "best.hdr");
  Model model(run.config.model, *run.backend, 1);
  EXPECT_NO_THROW(model.load_tensors(best.tensors, "best.hdr"));
  EXPECT_EQ(find_tensor(best, "moment1/conv.kernel"), nullptr);
  // The extra tensors do not keep the run's model.hdr from being read as a model (hdr predict).
  EXPECT_NO_THROW(read_trained_model(run.dir / "r" / "model.hdr"));
}

// [train] checkpoint_every = 2: model.hdr appears after epoch 2, not after epoch 1; best.hdr
// after every improving epoch regardless.
TEST(Resume, CheckpointEveryNEpochs) {
  SmallRun run({"train.checkpoint_every=2"});
  const fs::path out = run.dir / "r";
  int checked = 0;
  run.train_into(out, 0, nullptr, [&](int64_t step) {
    if (step == 16 + 1) {
      EXPECT_FALSE(fs::exists(out / "model.hdr")) << "a checkpoint after epoch 1";
      EXPECT_TRUE(fs::exists(out / "best.hdr"));
      ++checked;
    }
    if (step == 32 + 1) {
      EXPECT_EQ(read_resume_point(out).metadata.resume->epoch, 2);
      ++checked;
    }
  });
  EXPECT_EQ(checked, 2);
}

// ---- the command line: real signals to a real hdr train

// hdr train started in the background with its output going to a file, so the test can watch
// the output and signal the process.
class BackgroundTrain {
 public:
  BackgroundTrain(const std::string& args, const fs::path& log) : log_(log) {
    const std::string command = "exec " + hdr_command(args);
    const std::string log_path = log.string();
    pid_ = fork();
    if (pid_ == 0) {  // only async-signal-safe calls between fork and exec
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~BackgroundTrain() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  BackgroundTrain(const BackgroundTrain&) = delete;
  BackgroundTrain& operator=(const BackgroundTrain&) = delete;

  std::string output() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // Waits (up to 120 s) until the output holds `text`; false if it never did or hdr ended.
  bool wait_for(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      if (output().find(text) != std::string::npos) return true;
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
        reaped_ = true;
        return output().find(text) != std::string::npos;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  // The exit status; 128 + N for a process that signal N ended.
  int wait() {
    if (!reaped_) ::waitpid(pid_, &status_, 0);
    reaped_ = true;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  // Whether signal `sig` ended the process (rather than an exit with 128 + sig); after wait().
  bool killed_by(int sig) const { return reaped_ && WIFSIGNALED(status_) && WTERMSIG(status_) == sig; }
  // The line of /proc/PID/status that starts with `field` ("SigCgt:", "State:"); "" once the
  // process is gone.
  std::string proc_status(const std::string& field) const {
    std::ifstream in(fmt::format("/proc/{}/status", pid_));
    for (std::string line; std::getline(in, line);)
      if (line.starts_with(field)) return line.substr(field.size());
    return "";
  }
  // Whether `sig`'s bit is set in a signal mask of /proc/PID/status ("SigBlk:": blocked in the
  // main thread; "ShdPnd:": sent to the process and not yet taken).
  bool mask_has(const std::string& field, int sig) const {
    const std::string mask = proc_status(field);
    return !mask.empty() && (std::stoull(mask, nullptr, 16) >> (sig - 1) & 1);
  }
  // Whether the process has ended (a zombie not yet reaped, or gone).
  bool exited() const {
    const std::string state = proc_status("State:");
    return state.empty() || state.find('Z') != std::string::npos;
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// A CLI run of 100 steps per epoch (train_limit 4000), long enough for a signal sent when
// epoch 2 starts to arrive within it.
std::string cli_run(const fs::path& config, const fs::path& out) {
  return fmt::format("train '{}' --out '{}' --device cpu --threads {} --set data.train_limit=4000", config.string(),
                     out.string(), kThreads);
}

// The line after "Resume it with: " in the output.
std::string printed_resume_command(const std::string& output) {
  const std::string marker = "Resume it with: ";
  const size_t at = output.find(marker);
  if (at == std::string::npos) return "";
  const size_t begin = at + marker.size();
  return output.substr(begin, output.find('\n', begin) - begin);
}

TEST(Interrupt, SigintExits130WithALoadableCheckpointAndItsResumeCommand) {
  test::TempDir dir;
  const fs::path config = write_config(dir);
  BackgroundTrain stopped(cli_run(config, dir / "stopped"), dir / "stopped.log");
  ASSERT_TRUE(stopped.wait_for("Epoch 2/3")) << stopped.output();
  stopped.signal(SIGINT);
  ASSERT_EQ(stopped.wait(), 130) << stopped.output();
  const std::string output = stopped.output();
  EXPECT_NE(output.find("Stopped by SIGINT"), std::string::npos) << output;
  EXPECT_EQ(output.find("Test accuracy"), std::string::npos) << "an interrupted run is not evaluated\n" << output;
  EXPECT_FALSE(fs::exists(dir / "stopped" / "report.html"));

  const ResumePoint point = read_resume_point(dir / "stopped" / "model.hdr");
  EXPECT_GE(point.metadata.resume->epoch, 1) << "stopped before epoch 1 was saved";
  const std::string command = printed_resume_command(output);
  ASSERT_EQ(command, fmt::format("{} train --resume {} --device cpu --threads {}", HDR_EXE, (dir / "stopped").string(),
                                 kThreads))
      << output;

  const auto resumed = test::run_command(command + " --quiet");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resume: " + (dir / "stopped" / "model.hdr").string()), std::string::npos)
      << resumed.output;
  const auto whole = test::run_command(hdr_command(cli_run(config, dir / "whole") + " --quiet"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  EXPECT_TRUE(same_bits(load_checkpoint(dir / "stopped" / "model.hdr").tensors,
                        load_checkpoint(dir / "whole" / "model.hdr").tensors))
      << "interrupted and resumed through the command line, the run ends elsewhere";
}

TEST(Interrupt, SigtermExits143AndSavesTheRun) {
  test::TempDir dir;
  BackgroundTrain stopped(cli_run(write_config(dir), dir / "r"), dir / "r.log");
  ASSERT_TRUE(stopped.wait_for("Epoch 2/3")) << stopped.output();
  stopped.signal(SIGTERM);
  ASSERT_EQ(stopped.wait(), 143) << stopped.output();
  EXPECT_NE(stopped.output().find("Stopped by SIGTERM"), std::string::npos) << stopped.output();
  EXPECT_NO_THROW(read_resume_point(dir / "r"));
}

// A second Ctrl-C ends hdr at once: the watcher thread that took the first (the signals are
// blocked everywhere else) lets the second kill the process (it does not get to exit 130). Only
// when the first had already finished the step, saved and exited before the second could be
// sent is 130 accepted: the step and the save take milliseconds, the check that the first was
// taken microseconds. Either way the checkpoint written last is whole.
TEST(Interrupt, ASecondSigintEndsAtOnceAndKeepsTheCheckpoint) {
  test::TempDir dir;
  BackgroundTrain stopped(cli_run(write_config(dir), dir / "r"), dir / "r.log");
  ASSERT_TRUE(stopped.wait_for("Epoch 2/3")) << stopped.output();
  ASSERT_TRUE(stopped.mask_has("SigBlk:", SIGINT)) << "SIGINT is not blocked (and left to the watcher) while training";
  // A handler would run on the stack of whatever thread the signal lands on, oneDNN's JIT code
  // included, whose stack pointer can be in a heap buffer (that corrupted the heap).
  EXPECT_FALSE(stopped.mask_has("SigCgt:", SIGINT)) << "a SIGINT handler is installed";
  stopped.signal(SIGINT);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stopped.mask_has("ShdPnd:", SIGINT) && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_FALSE(stopped.mask_has("ShdPnd:", SIGINT)) << "the first SIGINT was never taken";
  const bool exited_already = stopped.exited();
  if (!exited_already) stopped.signal(SIGINT);
  const int status = stopped.wait();
  if (exited_already)
    EXPECT_EQ(status, 130) << stopped.output();
  else
    EXPECT_TRUE(stopped.killed_by(SIGINT)) << "exit status " << status << "\n" << stopped.output();
  EXPECT_NO_THROW(read_resume_point(dir / "r")) << stopped.output();
}

// A fresh run into the folder of a run under way would replace its checkpoint: refused, with the
// command that continues it.
TEST(OutputFolder, AFreshRunDoesNotReplaceARunUnderWay) {
  SmallRun run;
  const fs::path out = run.dir / "run";
  run.train_into(out, 16 + 4);
  const fs::path file = out / "model.hdr";
  const std::vector<unsigned char> before = test::read_bytes(file);
  const auto r = test::run_command(hdr_command(fmt::format("train '{}' --out '{}' --device cpu --threads {} --quiet",
                                                           write_config(run.dir).string(), out.string(), kThreads)));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const std::vector<std::string> needles{
      file.string(), "holds a run under way, stopped in epoch 2, after batch 4 (step 20)",
      fmt::format("{} train --resume {} --device cpu --threads {} --quiet", HDR_EXE, out.string(), kThreads), "--out"};
  for (const std::string& needle : needles)
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output << "\nmissing: " << needle;
  EXPECT_EQ(r.output.find("Epoch 1"), std::string::npos) << r.output;
  EXPECT_EQ(test::read_bytes(file), before);

  // A finished run's folder is trained into afresh as before.
  run.train_into(run.dir / "done");
  const auto again = test::run_command(
      hdr_command(fmt::format("train '{}' --out '{}' --device cpu --threads {} --quiet "
                              "--set train.epochs=1",
                              write_config(run.dir).string(), (run.dir / "done").string(), kThreads)));
  EXPECT_EQ(again.exit_code, 0) << again.output;
}

// The checkpoint's metadata is JSON, whose text is UTF-8: a model name in Latin-1 is refused by
// key before any training, not after the first epoch with the JSON library's words.
TEST(OutputFolder, AConfigValueThatIsNotUtf8IsRefusedBeforeTraining) {
  test::TempDir dir;
  std::string text = small_run_ini();
  text.replace(text.find("name = small"), 12, "name = caf\xE9");
  const fs::path config = dir / "latin1.ini";
  std::ofstream(config) << text;
  const auto r = test::run_command(hdr_command(cli_run(config, dir / "r")));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("model.name is not valid UTF-8"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Epoch 1"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("json"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "r" / "model.hdr"));
}

// ---- damaged checkpoints: each refused with what is wrong, the file left as it was

// A resumable checkpoint: the small run stopped in its second epoch.
fs::path stopped_run(SmallRun& run) {
  run.train_into(run.dir / "run", 16 + 4);
  return run.dir / "run" / "model.hdr";
}

void expect_refused(const std::string& args, const fs::path& file, std::initializer_list<std::string> needles) {
  const std::vector<unsigned char> before = test::read_bytes(file);
  const auto r = test::run_command(hdr_command("train --device cpu --quiet " + args));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  for (const std::string& needle : needles) EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("json.exception"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("filesystem error"), std::string::npos) << r.output;
  EXPECT_EQ(test::read_bytes(file), before) << "the refused checkpoint was changed";
}

TEST(CorruptCheckpoint, TruncatedIsRefused) {
  SmallRun run;
  const fs::path file = stopped_run(run);
  std::vector<unsigned char> bytes = test::read_bytes(file);
  bytes.resize(bytes.size() / 2);
  test::write_bytes(file, bytes);
  expect_refused("--resume '" + file.string() + "'", file, {file.string(), "corrupted or truncated"});
}

TEST(CorruptCheckpoint, BadChecksumIsRefused) {
  SmallRun run;
  const fs::path file = stopped_run(run);
  std::vector<unsigned char> bytes = test::read_bytes(file);
  bytes[bytes.size() - 100] ^= 0x10;  // one bit of a tensor
  test::write_bytes(file, bytes);
  expect_refused("--resume '" + run.dir.path().string() + "/run'", file, {file.string(), "checksum mismatch"});
}

TEST(CorruptCheckpoint, NewerFormatVersionIsRefused) {
  SmallRun run;
  const fs::path file = stopped_run(run);
  std::vector<unsigned char> bytes = test::read_bytes(file);
  bytes[8] = 99;  // the u32 version after the 8-byte magic
  test::write_bytes(file, bytes);
  expect_refused("--resume '" + file.string() + "'", file, {file.string(), "version 99 is newer"});
}

TEST(CorruptCheckpoint, TensorsNotMatchingTheConfigAreRefused) {
  SmallRun run;
  const fs::path file = stopped_run(run);
  expect_refused("--resume '" + file.string() + "' --set layer.conv.filters=16", file,
                 {file.string(), "tensor 'conv.kernel' has shape [8, 1, 3, 3], but the model's config makes it "
                                 "[16, 1, 3, 3]"});
}

TEST(CorruptCheckpoint, ADifferentConfigFileIsRefusedNamingTheKeys) {
  SmallRun run;
  const fs::path file = stopped_run(run);
  std::string text = small_run_ini();
  text.replace(text.find("epochs = 3"), 10, "epochs = 4");
  text.replace(text.find("seed = 5"), 8, "seed = 6");
  const fs::path other = run.dir / "other.ini";
  std::ofstream(other) << text;
  expect_refused("--resume '" + file.string() + "' '" + other.string() + "'", file,
                 {"train.epochs (run: 3", "train.seed (run: 5"});
}

TEST(CorruptCheckpoint, AFinishedRunIsNotResumed) {
  SmallRun run;
  run.train_into(run.dir / "done");
  const fs::path file = run.dir / "done" / "model.hdr";
  expect_refused("--resume '" + file.string() + "'", file, {"holds no run under way", "finished after"});
}

// ---- the output folder and the disk

TEST(OutputFolder, NotAFolderOrNotCreatableIsRefusedBeforeTraining) {
  test::TempDir dir;
  const fs::path config = write_config(dir);
  std::ofstream(dir / "a_file") << "x";
  auto r = test::run_command(hdr_command(cli_run(config, dir / "a_file")));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("a_file: exists and is not a folder"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Epoch 1"), std::string::npos) << r.output;

  r = test::run_command(hdr_command(cli_run(config, dir / "a_file" / "run")));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot create the output folder: Not a directory"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("filesystem error"), std::string::npos) << r.output;
}

// The disk fills in epoch 2 (RLIMIT_FSIZE at the size of the epoch-1 checkpoint, which the
// epoch-2 one outgrows): the run stops naming the file and the failed step, and model.hdr still
// holds epoch 1, resumable; no temporary file is left behind.
TEST(DiskFull, AFailedCheckpointWriteKeepsThePreviousOne) {
  SmallRun run;
  const fs::path out = run.dir / "full";
  std::unique_ptr<test::FileSizeLimit> limit;
  const auto fill_the_disk = [&](int64_t step) {
    if (step == 16 + 1) limit = std::make_unique<test::FileSizeLimit>(fs::file_size(out / "model.hdr"));
  };
  try {
    run.train_into(out, 0, nullptr, fill_the_disk);
    FAIL() << "the failed write went unnoticed";
  } catch (const InputError& e) {
    FAIL() << "a full disk is not bad input: " << e.what();
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("after epoch 2"), std::string::npos) << message;
    EXPECT_NE(message.find((out / "model.hdr").string() + ": write failed: File too large"), std::string::npos)
        << message;
    EXPECT_NE(message.find("previous file"), std::string::npos) << message;
  }
  limit.reset();
  const ResumePoint point = read_resume_point(out);
  EXPECT_EQ(point.metadata.resume->epoch, 1);
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

// ---- divergence

// Resumed after epoch 1 with a learning rate of 1e30, the loss turns NaN within epoch 2: the run
// stops at the next check (step 150 = batch 50 of 100), names it, and model.hdr keeps epoch 1.
TEST(Divergence, ANanLossStopsAtTheNextCheckAndKeepsTheLastGoodCheckpoint) {
  SmallRun run({"data.train_limit=4000"});
  const fs::path out = run.dir / "run";
  const TrainResult first = run.train_into(out, 100);
  ASSERT_EQ(first.steps_per_epoch, 100);
  ASSERT_EQ(first.epochs_done, 1);
  const fs::path file = out / "model.hdr";
  const std::vector<unsigned char> before = test::read_bytes(file);

  const auto r = test::run_command(hdr_command("train --device cpu --threads 2 --quiet --resume '" + out.string() +
                                               "' --set train.learning_rate=1e30"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("resume: --set changes train.learning_rate: 0.002 -> 1e+30"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("training diverged: the loss became NaN by epoch 2, step 150 (batch 50 of 100)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("the last good checkpoint is kept: " + file.string() + " (after epoch 1)"), std::string::npos)
      << r.output;
  EXPECT_EQ(test::read_bytes(file), before);
}

TEST(Divergence, AFreshRunThatDivergesWritesNoCheckpoint) {
  test::TempDir dir;
  const auto r = test::run_command(
      hdr_command(cli_run(write_config(dir), dir / "r") + " --set train.learning_rate=1e30"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("training diverged: the loss became NaN by epoch 1, step 50 (batch 50 of 100)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir / "r" / "model.hdr"));
}

}  // namespace
}  // namespace hdr

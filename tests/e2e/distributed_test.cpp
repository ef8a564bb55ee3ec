// Data-parallel training: `mpirun -np 2 hdr train` on this machine's CPU (Open MPI as root needs
// --allow-run-as-root, and --oversubscribe beyond the cores; containers refuse the shared-memory
// transport's single-copy mechanism). Two ranks with a global batch of 64 must train what one
// process with batch 64 trains, up to the order of the sums; only rank 0 speaks and writes.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/checkpoint.h"
#include "tests/process.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

#ifdef HDR_WITH_MPI

using test::run_command;

std::vector<std::string> split(const std::string& csv_line) {
  std::vector<std::string> fields;
  std::stringstream in(csv_line);
  for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
  return fields;
}

using test::hdr_command;

std::string mpirun(int ranks, const std::string& args) {
  return fmt::format(
      "mpirun --allow-run-as-root --oversubscribe --mca btl_vader_single_copy_mechanism none -np {} {} {}", ranks,
      HDR_EXE, args);
}

// cnn_tutorial has no batch norm, so per-rank statistics cannot make the two runs differ; its
// dropout is keyed by the global sample position and its augmentation by the dataset row. SGD,
// not Adam: Adam's update hardly changes when every gradient is scaled, so it would hide a
// wrong weighting of the ranks' gradients. 1,280 training images (20 batches) and 142 for
// validation. At this learning rate a fresh network is sensitive: a few ReLUs that flip on a
// different rounding make trajectories drift apart (with 1,152 images, the losses differ by 3e-3
// after 2 epochs, already 1.5e-5 after one); these 20 batches stay within 1e-6.
std::string training(const std::filesystem::path& out) {
  return fmt::format(
      "train configs/cnn_tutorial.ini --device cpu --threads 1 --set train.epochs=2 --set train.batch_size=64 "
      "--set train.optimizer=sgd --set train.learning_rate=0.05 --set data.train_limit=1422 "
      "--set data.validation_split=0.1 --out {}",
      out.string());
}

// One column of a run's history.csv, epoch by epoch.
std::vector<double> history_column(const std::filesystem::path& run, const std::string& column) {
  std::ifstream in(run / "history.csv");
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> names = split(line);
  const auto at = std::find(names.begin(), names.end(), column);
  EXPECT_NE(at, names.end()) << column << " is not in " << line;
  std::vector<double> out;
  while (at != names.end() && std::getline(in, line)) out.push_back(std::stod(split(line)[size_t(at - names.begin())]));
  return out;
}

// The percentage of "Test accuracy: 97.70% (...)"; -1 when the output has none.
double test_accuracy(const std::string& output) {
  const std::string marker = "Test accuracy: ";
  const size_t at = output.find(marker);
  return at == std::string::npos ? -1.0 : std::stod(output.substr(at + marker.size()));
}

// The largest difference between two runs' tensors, where it is, and the largest weight.
struct Difference {
  double largest = 0, largest_value = 0;
  std::string where;
};

Difference compare_tensors(const Checkpoint& a, const Checkpoint& b) {
  Difference d;
  for (const NamedTensor& t : a.tensors) {
    const NamedTensor* other = find_tensor(b, t.name);
    EXPECT_NE(other, nullptr) << t.name;
    if (!other) continue;
    for (size_t i = 0; i < t.data.size(); ++i) {
      const double diff = std::abs(double(t.data[i]) - other->data[i]);
      if (diff > d.largest) {
        d.largest = diff;
        d.where = fmt::format("{}[{}]: {} against {}", t.name, i, t.data[i], other->data[i]);
      }
      d.largest_value = std::max(d.largest_value, double(std::abs(t.data[i])));
    }
  }
  return d;
}

TEST(Distributed, TwoRanksTrainWhatOneProcessTrains) {
  ASSERT_EQ(run_command("mpirun --version").exit_code, 0) << "mpirun is missing: tools/setup.sh installs openmpi-bin";
  const test::TempDir dir;
  const auto one = run_command(hdr_command(training(dir / "one")));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = run_command(mpirun(2, training(dir / "two")));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("distributed: 2 processes over MPI"), std::string::npos) << two.output;
  EXPECT_NE(two.output.find("  rank 1: "), std::string::npos) << "the layout, rank by rank\n" << two.output;
  EXPECT_NE(two.output.find("gradient exchange: gradients summed through the host"), std::string::npos) << two.output;
  // Rank 0 alone prints: one "Test accuracy" line, not two.
  const size_t first = two.output.find("Test accuracy");
  ASSERT_NE(first, std::string::npos) << two.output;
  EXPECT_EQ(two.output.find("Test accuracy", first + 1), std::string::npos) << two.output;

  const Checkpoint a = load_checkpoint(dir / "one" / "model.hdr"), b = load_checkpoint(dir / "two" / "model.hdr");
  const Difference d = compare_tensors(a, b);
  // A run that weighted the ranks' gradients wrongly, or sliced the batches wrongly, differs by
  // about the size of an update (1e-2 and more here); summation order, by far less.
  EXPECT_LT(d.largest, 1e-4) << d.where;
  EXPECT_GT(d.largest_value, 0.01);

  // The loss curves.
  const auto la = history_column(dir / "one", "loss"), lb = history_column(dir / "two", "loss");
  ASSERT_EQ(la.size(), 2u);
  ASSERT_EQ(lb.size(), 2u);
  for (size_t e = 0; e < 2; ++e) EXPECT_NEAR(la[e], lb[e], 1e-4 * la[e]) << "epoch " << e + 1;
  // Validation, sharded over the ranks and summed: the whole validation set's loss.
  const auto va = history_column(dir / "one", "val_loss"), vb = history_column(dir / "two", "val_loss");
  ASSERT_EQ(va.size(), 2u);
  ASSERT_EQ(vb.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_GT(va[e], 0.0);
    EXPECT_NEAR(va[e], vb[e], 1e-4 * va[e]) << "epoch " << e + 1;
  }
}

// cnn_bn (batch norm after every convolution and the dense layer, max pooling fused with it,
// augmentation, dropout) with [train] sync_batchnorm: two ranks normalise with the global batch's
// statistics and train what one process with the whole batch trains, up to the order of the
// sums, moving statistics included. Three steps: 64, 64 and 1 image, so that one rank's slice of
// the last is empty and it only joins the collectives. Why so few: with real digits, max-pooling
// windows hold near-ties that a different rounding flips, and each flip reroutes a gradient; over
// tens of steps at this learning rate the two runs part (measured after 5 steps: 1.8e-3 and
// 7.6e-3 for 2 seeds of 3), whatever the order of the sums. tests/unit/sync_batch_norm_test.cpp checks 20 steps
// on synthetic images. The same two ranks with per-rank statistics (the default) end 0.14
// away after these three steps: the comparison tells the two apart. The largest difference is in
// a convolution's bias, which batch norm follows: its gradient is zero in exact arithmetic, so
// it moves by rounding alone and by how much depends on the order of the sums, which the CPU
// kernels choose by instruction set (3.7e-7 measured on AVX2, 2.4e-5 on AVX-512): 1e-4 still
// leaves a factor of 1,000 to the per-rank run.
TEST(Distributed, SynchronisedBatchNormTrainsWhatOneProcessTrains) {
  const test::TempDir dir;
  auto training = [&](const std::string& name, bool sync) {
    return fmt::format(
        "train configs/cnn_bn.ini --device cpu --threads 1 --quiet --set train.epochs=1 --set train.batch_size=64 "
        "--set train.optimizer=sgd --set train.learning_rate=0.05 --set data.train_limit=129 "
        "--set data.validation_split=0 --set lr_schedule.type=constant --set early_stopping.enabled=false "
        "--set train.sync_batchnorm={} --out {}",
        sync, (dir / name).string());
  };
  const auto one = run_command(hdr_command(training("one", true)));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto synced = run_command(mpirun(2, training("synced", true)));
  ASSERT_EQ(synced.exit_code, 0) << synced.output;
  const auto per_rank = run_command(mpirun(2, training("per_rank", false)));
  ASSERT_EQ(per_rank.exit_code, 0) << per_rank.output;

  const Checkpoint reference = load_checkpoint(dir / "one" / "model.hdr");
  const Difference d = compare_tensors(reference, load_checkpoint(dir / "synced" / "model.hdr"));
  EXPECT_LT(d.largest, 1e-4) << d.where;
  EXPECT_GT(d.largest_value, 0.01);
  EXPECT_GT(compare_tensors(reference, load_checkpoint(dir / "per_rank" / "model.hdr")).largest, 1e-2);
  const auto la = history_column(dir / "one", "loss"), lb = history_column(dir / "synced", "loss");
  ASSERT_EQ(la.size(), 1u);
  ASSERT_EQ(lb.size(), 1u);
  EXPECT_NEAR(la[0], lb[0], 1e-5 * la[0]);
}

// Two ranks train cnn_tutorial (Adam, its own recipe) for one epoch of the 60,000 images to the
// test accuracy one process reaches; the test result rank 0 reports (each rank scored half of the
// test set) is the one `hdr eval` finds for the saved model in one process.
TEST(Distributed, TwoRanksTrainCnnTutorialForAnEpochToOneProcesssAccuracy) {
  const test::TempDir dir;
  const std::string recipe = "train configs/cnn_tutorial.ini --device cpu --quiet --set train.epochs=1 --out ";
  const auto one = run_command(hdr_command(recipe + (dir / "one").string() + " --threads 2"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = run_command(mpirun(2, recipe + (dir / "two").string() + " --threads 1"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const double a = test_accuracy(one.output), b = test_accuracy(two.output);
  EXPECT_GT(a, 97.0) << one.output;
  EXPECT_NEAR(a, b, 0.5) << two.output;
  const auto evaluated = run_command(
      hdr_command("eval " + (dir / "two" / "model.hdr").string() + " --device cpu --threads 2"));
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  EXPECT_EQ(test_accuracy(evaluated.output), b) << evaluated.output;
}

// The pid of the process of `rank` whose command line holds `marker` (a run's own folder), read
// from /proc: the rank Open MPI gave it is in its environment. 0 while there is none.
pid_t rank_process(const std::string& marker, int rank) {
  const std::string wanted = fmt::format("OMPI_COMM_WORLD_RANK={}", rank);
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline(entry.path() / "cmdline"), environ(entry.path() / "environ");
    const std::string command((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    const std::string env((std::istreambuf_iterator<char>(environ)), std::istreambuf_iterator<char>());
    if (command.find(marker) == std::string::npos || command.find("mpirun") != std::string::npos) continue;
    if (env.find(std::string(1, '\0') + wanted + '\0') != std::string::npos || env.starts_with(wanted + '\0'))
      return pid_t(std::stol(name));
  }
  return 0;
}

// The pid of `rank` of the run whose folder is `marker`, waited for up to 30 s; 0 if it never
// appeared.
pid_t find_rank(const std::string& marker, int rank) {
  pid_t pid = 0;
  for (int i = 0; i < 300 && pid == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    pid = rank_process(marker, rank);
  }
  return pid;
}

// A rank killed in the middle of training: the run ends within seconds, naming the rank, instead
// of the survivor waiting forever in its next collective.
TEST(Distributed, ARankThatDiesEndsTheRunWithAClearError) {
  const test::TempDir dir;
  const std::string out = (dir / "killed").string();
  test::ProcessResult result;
  const auto start = std::chrono::steady_clock::now();
  std::thread run([&] {
    result = run_command(mpirun(2, fmt::format("train configs/cnn_tutorial.ini --device cpu --threads 1 --quiet "
                                               "--set train.epochs=20 --out {}",
                                               out)));
  });
  const pid_t victim = find_rank(out, 1);
  if (victim != 0) {
    std::this_thread::sleep_for(std::chrono::seconds(2));  // into the training steps
    kill(victim, SIGKILL);
  }
  run.join();
  ASSERT_NE(victim, 0) << "rank 1 never appeared\n" << result.output;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_LT(seconds, 60.0) << result.output;  // 20 epochs would take minutes: the run did not go on
  EXPECT_NE(result.output.find("rank 1"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("signal 9"), std::string::npos) << result.output;
}

// A rank that stops responding without dying (here: SIGSTOP, once the first epoch is saved, so
// well into training) is invisible to mpirun: the other gives up after train.collective_timeout,
// with one line naming the wait, and the run ends.
TEST(Distributed, ARankThatStopsRespondingEndsTheRunAfterTheCollectiveTimeout) {
  const test::TempDir dir;
  const std::filesystem::path out = dir / "stalled";
  test::ProcessResult result;
  const auto start = std::chrono::steady_clock::now();
  std::thread run([&] {
    result = run_command(mpirun(2, fmt::format("train configs/cnn_tutorial.ini --device cpu --threads 1 --quiet "
                                               "--set train.epochs=1000 --set data.train_limit=2000 "
                                               "--set train.collective_timeout=4 --out {}",
                                               out.string())));
  });
  const pid_t stalled = find_rank(out.string(), 1), waiting = find_rank(out.string(), 0);
  for (int i = 0; i < 600 && stalled != 0 && !std::filesystem::exists(out / "model.hdr"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (stalled != 0) {
    kill(stalled, SIGSTOP);
    // Rank 0 is to end by itself; then the stopped rank is cleared away whatever mpirun does.
    for (int i = 0; i < 600 && waiting != 0 && kill(waiting, 0) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    kill(stalled, SIGKILL);
  }
  run.join();
  ASSERT_NE(stalled, 0) << "rank 1 never appeared\n" << result.output;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_LT(seconds, 90.0) << result.output;
  EXPECT_NE(result.output.find("hdr: rank 0: "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(" has waited "), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("(train.collective_timeout = 4 s): one of them stopped responding"), std::string::npos)
      << result.output;
}

// A rank that fails alone (rank 0 cannot write the run's checkpoint: model.hdr is a folder) says
// why and ends the whole run at once, instead of leaving the others waiting for the timeout.
TEST(Distributed, ARankThatFailsEndsTheRunAtOnceWithItsError) {
  const test::TempDir dir;
  const std::filesystem::path out = dir / "unwritable";
  std::filesystem::create_directories(out / "model.hdr");
  const auto start = std::chrono::steady_clock::now();
  const auto result = run_command(mpirun(2, fmt::format("train configs/cnn_tutorial.ini --device cpu --threads 1 "
                                                        "--quiet --set train.epochs=50 --set data.train_limit=640 "
                                                        "--out {}",
                                                        out.string())));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_LT(seconds, 60.0) << "the other rank waited for the collective timeout (300 s)\n" << result.output;
  EXPECT_NE(result.output.find("hdr: rank 0: error: after epoch 1: "), std::string::npos) << result.output;
}

// A SIGINT to one rank stops both at the same step (they agree on it); rank 0 saves the run and
// prints the mpirun command that resumes it, and the resumed run ends bit for bit where a run
// never stopped ends.
TEST(Distributed, TwoRanksStoppedAndResumedEndWhereAnUnbrokenRunEnds) {
  const test::TempDir dir;
  auto training = [](const std::filesystem::path& out) {
    return fmt::format("train configs/cnn_tutorial.ini --device cpu --threads 1 --set train.epochs=6 "
                       "--set data.train_limit=4000 --out {}",
                       out.string());
  };
  const std::filesystem::path stopped = dir / "stopped";
  test::ProcessResult first;
  std::thread run([&] { first = run_command(mpirun(2, training(stopped))); });
  const pid_t rank0 = find_rank(stopped.string(), 0);
  // Once epoch 1 is saved, well before the sixth ends.
  for (int i = 0; i < 600 && rank0 != 0 && !std::filesystem::exists(stopped / "model.hdr"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (rank0 != 0) kill(rank0, SIGINT);
  run.join();
  ASSERT_NE(rank0, 0) << "rank 0 never appeared\n" << first.output;
  ASSERT_NE(first.exit_code, 0) << "the run ended before the signal\n" << first.output;
  EXPECT_NE(first.output.find("Stopped by SIGINT"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("Resume it with: mpirun -np 2 "), std::string::npos) << first.output;

  const auto resumed = run_command(
      mpirun(2, fmt::format("train --resume {} --device cpu --threads 1 --quiet", stopped.string())));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resume: "), std::string::npos) << resumed.output;
  EXPECT_EQ(resumed.output.find("sliced anew"), std::string::npos) << "the same number of ranks\n" << resumed.output;
  const auto unbroken = run_command(mpirun(2, training(dir / "unbroken") + " --quiet"));
  ASSERT_EQ(unbroken.exit_code, 0) << unbroken.output;
  const Checkpoint a = load_checkpoint(stopped / "model.hdr"), b = load_checkpoint(dir / "unbroken" / "model.hdr");
  const Difference d = compare_tensors(a, b);
  EXPECT_EQ(d.largest, 0.0) << "stopped and resumed, the two ranks end elsewhere: " << d.where;
  EXPECT_GT(d.largest_value, 0.01);
}

#else

TEST(Distributed, TwoRanksTrainWhatOneProcessTrains) { GTEST_SKIP() << "this build has no MPI (HDR_MPI=OFF)"; }
TEST(Distributed, ARankThatDiesEndsTheRunWithAClearError) { GTEST_SKIP() << "this build has no MPI (HDR_MPI=OFF)"; }
TEST(Distributed, SynchronisedBatchNormTrainsWhatOneProcessTrains) {
  GTEST_SKIP() << "this build has no MPI (HDR_MPI=OFF)";
}
TEST(Distributed, TwoRanksTrainCnnTutorialForAnEpochToOneProcesssAccuracy) {
  GTEST_SKIP() << "this build has no MPI (HDR_MPI=OFF)";
}
TEST(Distributed, ARankThatStopsRespondingEndsTheRunAfterTheCollectiveTimeout) {
  GTEST_SKIP() << "this build has no MPI (HDR_MPI=OFF)";
}
TEST(Distributed, TwoRanksStoppedAndResumedEndWhereAnUnbrokenRunEnds) {
  GTEST_SKIP() << "this build has no MPI (HDR_MPI=OFF)";
}
TEST(Distributed, ARankThatFailsEndsTheRunAtOnceWithItsError) { GTEST_SKIP() << "this build has no MPI (HDR_MPI=OFF)"; }

#endif

}  // namespace
}  // namespace hdr

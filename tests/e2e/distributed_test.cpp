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
#include <string>
#include <thread>
#include <vector>

#include "engine/checkpoint.h"
#include "tests/process.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

#ifdef HDR_WITH_MPI

using test::run_command;

std::string hdr_command(const std::string& args) { return std::string(HDR_EXE) + " " + args; }

std::string mpirun(int ranks, const std::string& args) {
  return fmt::format("mpirun --allow-run-as-root --oversubscribe --mca btl_vader_single_copy_mechanism none -np {} {} {}",
                     ranks, HDR_EXE, args);
}

// cnn_tutorial has no batch norm, so per-rank statistics cannot make the two runs differ; its
// dropout is keyed by the global sample position and its augmentation by the dataset row. SGD,
// not Adam: Adam's update hardly changes when every gradient is scaled, so it would hide a
// wrong weighting of the ranks' gradients.
std::string training(const std::filesystem::path& out) {
  return fmt::format(
      "train configs/cnn_tutorial.ini --device cpu --threads 1 --quiet --set train.epochs=2 --set train.batch_size=64 "
      "--set train.optimizer=sgd --set train.learning_rate=0.05 --set data.train_limit=1280 "
      "--set data.validation_split=0 --out {}",
      out.string());
}

double largest_difference(const Checkpoint& a, const Checkpoint& b, double* largest_value) {
  double diff = 0;
  *largest_value = 0;
  for (const NamedTensor& t : a.tensors) {
    const NamedTensor* other = find_tensor(b, t.name);
    EXPECT_NE(other, nullptr) << t.name;
    if (!other) continue;
    for (size_t i = 0; i < t.data.size(); ++i) {
      diff = std::max(diff, double(std::abs(t.data[i] - other->data[i])));
      *largest_value = std::max(*largest_value, double(std::abs(t.data[i])));
    }
  }
  return diff;
}

TEST(Distributed, TwoRanksTrainWhatOneProcessTrains) {
  ASSERT_EQ(run_command("mpirun --version").exit_code, 0) << "mpirun is missing: tools/setup.sh installs openmpi-bin";
  const test::TempDir dir;
  const auto one = run_command(hdr_command(training(dir / "one")));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = run_command(mpirun(2, training(dir / "two")));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("distributed: 2 processes over MPI"), std::string::npos) << two.output;
  // Rank 0 alone prints: one "Test accuracy" line, not two.
  const size_t first = two.output.find("Test accuracy");
  ASSERT_NE(first, std::string::npos) << two.output;
  EXPECT_EQ(two.output.find("Test accuracy", first + 1), std::string::npos) << two.output;

  const Checkpoint a = load_checkpoint(dir / "one" / "model.hdr"), b = load_checkpoint(dir / "two" / "model.hdr");
  double largest = 0;
  const double diff = largest_difference(a, b, &largest);
  // A run that weighted the ranks' gradients wrongly, or sliced the batches wrongly, differs by
  // about the size of an update (1e-2 and more here); summation order, by far less.
  EXPECT_LT(diff, 1e-4) << "largest weight " << largest;
  EXPECT_GT(largest, 0.01);

  // The loss curves: history.csv's loss per epoch.
  auto losses = [](const std::filesystem::path& csv) {
    std::ifstream in(csv);
    std::string line;
    std::vector<double> out;
    std::getline(in, line);  // header
    while (std::getline(in, line)) out.push_back(std::stod(line.substr(line.find(',') + 1)));
    return out;
  };
  const auto la = losses(dir / "one" / "history.csv"), lb = losses(dir / "two" / "history.csv");
  ASSERT_EQ(la.size(), 2u);
  ASSERT_EQ(lb.size(), 2u);
  for (size_t e = 0; e < 2; ++e) EXPECT_NEAR(la[e], lb[e], 1e-4 * la[e]) << "epoch " << e + 1;
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
  pid_t victim = 0;
  for (int i = 0; i < 300 && victim == 0; ++i) {  // up to 30 s for the ranks to start
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    victim = rank_process(out, 1);
  }
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

#else

TEST(Distributed, TwoRanksTrainWhatOneProcessTrains) { GTEST_SKIP() << "this build has no MPI (HDR_MPI=OFF)"; }
TEST(Distributed, ARankThatDiesEndsTheRunWithAClearError) { GTEST_SKIP() << "this build has no MPI (HDR_MPI=OFF)"; }

#endif

}  // namespace
}  // namespace hdr

// tools/fetch_mnist.sh against local copies (--offline): checksums are enforced and a failed
// fetch leaves nothing half-written in the destination. The `hdr data` CLI on the same folders.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/io/idx.h"
#include "tests/process.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::TempDir;

const char* const kFiles[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                              "t10k-labels-idx1-ubyte"};

// A copy of the real MNIST folder in a temp dir.
void copy_mnist(const fs::path& to) {
  ASSERT_TRUE(MnistFiles("data/mnist").all_present()) << "run tools/fetch_mnist.sh first";
  fs::create_directories(to);
  for (const char* f : kFiles) fs::copy_file(fs::path("data/mnist") / f, to / f);
}

std::string fetch(const fs::path& from, const fs::path& dest) {
  return "bash tools/fetch_mnist.sh --offline --from '" + from.string() + "' '" + dest.string() + "'";
}

TEST(FetchMnist, ValidLocalCopyIsTaken) {
  TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(copy_mnist(tmp / "src"));
  const auto r = run_command(fetch(tmp / "src", tmp / "dest"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(MnistFiles(tmp / "dest").all_present());
  const auto again = run_command(fetch(tmp / "nowhere", tmp / "dest"));  // idempotent: no source needed
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already holds"), std::string::npos) << again.output;
}

TEST(FetchMnist, ChecksumMismatchIsDetectedAndNothingIsWritten) {
  TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(copy_mnist(tmp / "src"));
  {  // flip one pixel byte in the test images
    std::fstream f(tmp / "src" / "t10k-images-idx3-ubyte", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x7f');
  }
  const auto r = run_command(fetch(tmp / "src", tmp / "dest"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("checksum mismatch for t10k-images-idx3-ubyte"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no source gave a valid copy of: t10k-images-idx3-ubyte"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "dest" / "t10k-images-idx3-ubyte"));
  for (const auto& entry : fs::directory_iterator(tmp / "dest"))  // no staging leftovers either
    ADD_FAILURE() << "left behind: " << entry.path();
}

TEST(FetchMnist, CorruptFileInDestinationIsReplaced) {
  TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(copy_mnist(tmp / "src"));
  ASSERT_NO_FATAL_FAILURE(copy_mnist(tmp / "dest"));
  fs::resize_file(tmp / "dest" / "train-labels-idx1-ubyte", 100);
  const auto r = run_command(fetch(tmp / "src", tmp / "dest"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(fs::file_size(tmp / "dest" / "train-labels-idx1-ubyte"), 60008u);
}

TEST(DataCommand, SummarisesRealMnist) {
  const auto r = run_command(std::string(HDR_EXE) + " data");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("60000 images of 28x28"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("980,1135,1032,1010,982,892,958,1028,974,1009"), std::string::npos) << r.output;
}

TEST(DataCommand, BadFileExitsWith2AndNamesIt) {
  TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(copy_mnist(tmp.path()));
  fs::resize_file(tmp / "t10k-labels-idx1-ubyte", 9000);
  const auto r = run_command(std::string(HDR_EXE) + " data --data '" + tmp.path().string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("t10k-labels-idx1-ubyte: header claims 10000 items"), std::string::npos) << r.output;
}

TEST(DataCommand, MissingFolderExitsWith2) {
  const auto r = run_command(std::string(HDR_EXE) + " data --data /nonexistent-hdr-folder");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("run tools/fetch_mnist.sh"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hdr

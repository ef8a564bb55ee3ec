// write_file_atomically, the one writer of files users keep: the target is replaced whole or not
// at all, in both durabilities, and no temporary file is left behind. (Checkpoints, which go
// through it, are tested in checkpoint_test.cpp.)
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/core/atomic_file.h"
#include "engine/io/image_io.h"
#include "tests/file_size_limit.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {
namespace fs = std::filesystem;

size_t entries(const fs::path& dir) {
  return size_t(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

class AtomicFile : public ::testing::TestWithParam<Durability> {};

TEST_P(AtomicFile, ReplacesTheTargetWholeAndLeavesNoTemporaryFile) {
  test::TempDir dir;
  const std::vector<uint8_t> first(10, 1), second(5000, 2);
  write_file_atomically(dir / "f", first, GetParam());
  write_file_atomically(dir / "f", second, GetParam());
  EXPECT_EQ(test::read_bytes(dir / "f"), second);
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST_P(AtomicFile, AFailedWriteKeepsThePreviousFile) {
  test::TempDir dir;
  const std::vector<uint8_t> old(100, 7), big(200000, 9);
  write_file_atomically(dir / "f", old, GetParam());
  try {
    test::FileSizeLimit limit(64 * 1024);
    write_file_atomically(dir / "f", big, GetParam());
    FAIL() << "a write past the file size limit succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("write failed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(test::read_bytes(dir / "f"), old);
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST_P(AtomicFile, AMissingFolderIsAnErrorNamingThePath) {
  test::TempDir dir;
  try {
    write_file_atomically(dir / "missing" / "f", std::vector<uint8_t>(3, 0), GetParam());
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "missing" / "f").string() + ": cannot create"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(entries(dir.path()), 0u);
}

INSTANTIATE_TEST_SUITE_P(BothDurabilities, AtomicFile, ::testing::Values(Durability::kAtomicOnly, Durability::kDurable),
                         [](const auto& param) {
                           return param.param == Durability::kDurable ? "Durable" : "AtomicOnly";
                         });

// PNG files (predict --save-preprocessed, data --export) go through it too.
TEST(AtomicFile, PngOverAnExistingFileIsAllOrNothing) {
  test::TempDir dir;
  const std::vector<uint8_t> small(8 * 8, 128);
  write_png(dir / "d.png", small, 8, 8);
  const auto before = test::read_bytes(dir / "d.png");
  std::vector<uint8_t> noise(1024 * 1024);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = uint8_t(i * 2654435761u >> 13);  // incompressible
  {
    test::FileSizeLimit limit(before.size() + 100);
    EXPECT_THROW(write_png(dir / "d.png", noise, 1024, 1024), std::runtime_error);
  }
  EXPECT_EQ(test::read_bytes(dir / "d.png"), before);
  EXPECT_EQ(entries(dir.path()), 1u);
}

}  // namespace
}  // namespace hdr

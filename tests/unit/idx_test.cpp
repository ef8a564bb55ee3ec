// IDX reader: the real MNIST files, then one crafted bad file per failure mode.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "engine/core/errors.h"
#include "engine/io/idx.h"
#include "tests/expect_input_error.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

using test::TempDir;
using test::write_bytes;
using Bytes = std::vector<unsigned char>;

const MnistFiles kMnist("data/mnist");

void require_mnist() {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh (the README's test command does)";
}

TEST(IdxMnist, TrainingSetIs60000Of28x28) {
  require_mnist();
  const auto train = read_idx_pair(kMnist.train_images, kMnist.train_labels, 10);
  EXPECT_EQ(train.count(), 60000);
  EXPECT_EQ(train.images.rows, 28);
  EXPECT_EQ(train.images.cols, 28);
  EXPECT_EQ(train.images.pixels.size(), 60000u * 28 * 28);
  EXPECT_EQ(train.labels.size(), 60000u);
  EXPECT_EQ(train.labels[0], 5);  // the famous first training digit
}

TEST(IdxMnist, TestSetIs10000WithKnownLabelHistogram) {
  require_mnist();
  const auto test = read_idx_pair(kMnist.test_images, kMnist.test_labels, 10);
  EXPECT_EQ(test.count(), 10000);
  EXPECT_EQ(test.images.rows, 28);
  EXPECT_EQ(test.images.cols, 28);
  std::array<int, 10> histogram{};
  for (uint8_t l : test.labels) ++histogram[l];
  const std::array<int, 10> expected{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
  EXPECT_EQ(histogram, expected);
  EXPECT_EQ(test.labels[0], 7);  // the first test digit is a 7
}

// Builds an IDX file: magic, sizes, then `payload` bytes of value 1.
Bytes idx_file(uint32_t magic, std::vector<uint32_t> sizes, size_t payload) {
  Bytes b;
  auto put = [&b](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
  };
  put(magic);
  for (uint32_t s : sizes) put(s);
  b.insert(b.end(), payload, 1);
  return b;
}

using test::expect_input_error;

TEST(IdxBadFile, WellFormedCraftedFilesAreRead) {  // the control for the failure cases below
  TempDir dir;
  write_bytes(dir / "img", idx_file(2051, {3, 4, 5}, 3 * 4 * 5));
  write_bytes(dir / "lbl", idx_file(2049, {3}, 3));
  const auto set = read_idx_pair(dir / "img", dir / "lbl", 10);
  EXPECT_EQ(set.count(), 3);
  EXPECT_EQ(set.images.rows, 4);
  EXPECT_EQ(set.images.cols, 5);
}

TEST(IdxBadFile, WrongMagic) {
  TempDir dir;
  write_bytes(dir / "img", idx_file(2049, {3, 4, 5}, 60));  // a label magic on an image file
  expect_input_error([&] { read_idx_images(dir / "img"); }, {"img", "wrong magic number 2049", "expected 2051"});
}

TEST(IdxBadFile, TruncatedData) {
  TempDir dir;
  write_bytes(dir / "img", idx_file(2051, {3, 4, 5}, 59));  // one byte short
  expect_input_error([&] { read_idx_images(dir / "img"); }, {"img", "claims 3 items", "59 data bytes"});
}

TEST(IdxBadFile, TruncatedHeader) {
  TempDir dir;
  write_bytes(dir / "img", Bytes{0, 0, 8, 3, 0, 0});
  expect_input_error([&] { read_idx_images(dir / "img"); }, {"img", "truncated header"});
}

TEST(IdxBadFile, HeaderClaimsMoreItemsThanTheFileHolds) {
  TempDir dir;
  write_bytes(dir / "img", idx_file(2051, {4000000000u, 4000, 4000}, 100));
  expect_input_error([&] { read_idx_images(dir / "img"); }, {"img", "claims 4000000000 items", "only 100 data bytes"});
}

TEST(IdxBadFile, TrailingBytesAfterTheData) {
  TempDir dir;
  write_bytes(dir / "lbl", idx_file(2049, {3}, 4));
  expect_input_error([&] { read_idx_labels(dir / "lbl", 10); }, {"lbl", "claims 3 items", "4 data bytes"});
}

TEST(IdxBadFile, LabelOutOfRange) {
  TempDir dir;
  Bytes b = idx_file(2049, {3}, 3);
  b.back() = 10;
  write_bytes(dir / "lbl", b);
  expect_input_error([&] { read_idx_labels(dir / "lbl", 10); }, {"lbl", "label 10 at item 2", "0..9"});
}

TEST(IdxBadFile, ImageAndLabelCountMismatch) {
  TempDir dir;
  write_bytes(dir / "img", idx_file(2051, {3, 4, 5}, 60));
  write_bytes(dir / "lbl", idx_file(2049, {2}, 2));
  expect_input_error([&] { read_idx_pair(dir / "img", dir / "lbl", 10); }, {"3 images", "2 labels"});
}

TEST(IdxBadFile, EmptyFile) {
  TempDir dir;
  write_bytes(dir / "img", {});
  expect_input_error([&] { read_idx_images(dir / "img"); }, {"img", "empty file"});
}

TEST(IdxBadFile, DirectoryInsteadOfFile) {
  TempDir dir;
  expect_input_error([&] { read_idx_images(dir.path()); }, {dir.path().string(), "is a directory"});
}

TEST(IdxBadFile, MissingFile) {
  TempDir dir;
  expect_input_error([&] { read_idx_labels(dir / "nope", 10); }, {"nope", "no such file"});
}

TEST(IdxBadFile, ZeroDimension) {
  TempDir dir;
  write_bytes(dir / "img", idx_file(2051, {3, 0, 5}, 0));
  expect_input_error([&] { read_idx_images(dir / "img"); }, {"img", "dimension 1 is zero"});
}

}  // namespace
}  // namespace hdr

// The corrections set (engine/io/corrections.h): appends read back in order, survive a restart,
// refuse a second writer, a full set and bad input, and a failed or interrupted write leaves the
// set readable with what was stored before.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "engine/core/atomic_file.h"
#include "engine/io/corrections.h"
#include "tests/expect_input_error.h"
#include "tests/file_size_limit.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

std::vector<uint8_t> image_of(uint8_t value) { return std::vector<uint8_t>(784, value); }

TEST(Corrections, AppendsReadBackInOrderAndSurviveARestart) {
  const test::TempDir dir;
  EXPECT_EQ(read_corrections(dir.path(), 28, 10).count(), 0);
  {
    CorrectionWriter writer(dir.path(), 28, 10, 100);
    EXPECT_EQ(writer.append(image_of(10), 7), 1);
    EXPECT_EQ(writer.append(image_of(20), 1), 2);
  }
  CorrectionWriter writer(dir.path(), 28, 10, 100);
  EXPECT_EQ(writer.count(), 2);
  EXPECT_EQ(writer.append(image_of(30), 7), 3);
  EXPECT_EQ(writer.count_by_label(), (std::vector<int>{0, 1, 0, 0, 0, 0, 0, 2, 0, 0}));
  const LabelledImages set = read_corrections(dir.path(), 28, 10);
  ASSERT_EQ(set.count(), 3);
  EXPECT_EQ(set.labels, (std::vector<uint8_t>{7, 1, 7}));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(set.images.pixels[size_t(i) * 784 + 100], 10 * (i + 1));
}

TEST(Corrections, OneWriterAtATime) {
  const test::TempDir dir;
  const CorrectionWriter first(dir.path(), 28, 10, 100);
  test::expect_input_error([&] { CorrectionWriter second(dir.path(), 28, 10, 100); },
                           {dir.path().string(), "another process"});
}

TEST(Corrections, FullSetAndBadInputAreRefused) {
  const test::TempDir dir;
  CorrectionWriter writer(dir.path(), 28, 10, 2);
  writer.append(image_of(1), 1);
  writer.append(image_of(2), 2);
  test::expect_input_error([&] { writer.append(image_of(3), 3); }, {"full", "2 corrections"});
  const test::TempDir other;
  CorrectionWriter w(other.path(), 28, 10, 5);
  test::expect_input_error([&] { w.append(image_of(1), 10); }, {"label 10", "0..9"});
  test::expect_input_error([&] { w.append(std::vector<uint8_t>(100), 1); }, {"100 pixels", "784"});
  EXPECT_EQ(w.count(), 0);
}

TEST(Corrections, AFullDiskFailsTheAppendAndKeepsTheSet) {
  const test::TempDir dir;
  CorrectionWriter writer(dir.path(), 28, 10, 100);
  writer.append(image_of(5), 5);
  {
    const test::FileSizeLimit limit(1000);  // the images file of two corrections is 1,584 bytes
    EXPECT_THROW(writer.append(image_of(6), 6), std::runtime_error);
  }
  EXPECT_EQ(writer.count(), 1);
  LabelledImages set = read_corrections(dir.path(), 28, 10);
  ASSERT_EQ(set.count(), 1);
  EXPECT_EQ(set.labels[0], 5);
  EXPECT_EQ(writer.append(image_of(7), 7), 2);  // room again: the set goes on
  set = read_corrections(dir.path(), 28, 10);
  EXPECT_EQ(set.labels, (std::vector<uint8_t>{5, 7}));
}

TEST(Corrections, AnAppendCutBetweenItsTwoFilesLosesOnlyThatCorrection) {
  const test::TempDir dir;
  {
    CorrectionWriter writer(dir.path(), 28, 10, 100);
    writer.append(image_of(5), 5);
  }
  // The images of a second correction landed, its labels did not.
  const CorrectionFiles files(dir.path());
  IdxImages two{2, 28, 28, std::vector<uint8_t>(2 * 784, 5)};
  std::fill(two.pixels.begin() + 784, two.pixels.end(), 9);
  write_file_atomically(files.images, encode_idx_images(two));
  EXPECT_EQ(read_corrections(dir.path(), 28, 10).count(), 1);
  CorrectionWriter writer(dir.path(), 28, 10, 100);
  EXPECT_EQ(writer.append(image_of(8), 8), 2);
  const LabelledImages set = read_corrections(dir.path(), 28, 10);
  EXPECT_EQ(set.images.pixels[784], 8);  // the new correction replaced the lost one's image
}

TEST(Corrections, LabelsWithoutTheirImagesAreAnError) {
  const test::TempDir dir;
  const CorrectionFiles files(dir.path());
  write_file_atomically(files.images, encode_idx_images({1, 28, 28, image_of(1)}));
  write_file_atomically(files.labels, encode_idx_labels({1, 2}));
  test::expect_input_error([&] { read_corrections(dir.path(), 28, 10); }, {"2 labels but only 1 images"});
  test::expect_input_error([&] { read_corrections(dir.path(), 32, 10); }, {"28 x 28", "32 x 32"});
}

}  // namespace
}  // namespace hdr

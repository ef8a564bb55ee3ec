// Reader for the IDX format of MNIST, Fashion-MNIST and EMNIST: a big-endian header (magic,
// then one 32-bit size per dimension) followed by raw uint8 data. Nothing in a header is
// trusted: magic, dimensions and the file length are checked before a byte of data is read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace hdr {

inline constexpr uint32_t kIdxImagesMagic = 2051;  // 0x00000803: uint8, 3 dimensions
inline constexpr uint32_t kIdxLabelsMagic = 2049;  // 0x00000801: uint8, 1 dimension

struct IdxImages {
  int count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major per image
};

// A labelled image set: images and their labels, checked against each other and the classes.
struct LabelledImages {
  IdxImages images;
  std::vector<uint8_t> labels;  // one per image, each < num_classes
  int num_classes = 0;
  int count() const { return images.count; }
};

IdxImages read_idx_images(const std::filesystem::path& path);
std::vector<uint8_t> read_idx_labels(const std::filesystem::path& path, int num_classes);
LabelledImages read_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels, int num_classes);

// The IDX bytes of a set of images (magic 2051) and of labels (magic 2049), as read_idx_* read them.
std::vector<uint8_t> encode_idx_images(const IdxImages& images);
std::vector<uint8_t> encode_idx_labels(const std::vector<uint8_t>& labels);

// The MNIST file names inside a data folder (the layout tools/fetch_mnist.sh produces).
struct MnistFiles {
  std::filesystem::path train_images, train_labels, test_images, test_labels;
  explicit MnistFiles(const std::filesystem::path& dir);
  bool all_present() const;
};

}  // namespace hdr

#include "engine/io/idx.h"

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <limits>

#include "engine/core/errors.h"

namespace hdr {
namespace fs = std::filesystem;

namespace {

uint32_t big_endian_u32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// Opens an IDX file, checks magic and that the file length is exactly header + product(dims),
// and returns the data bytes. `dims` receives the dimension sizes (all >= 1).
std::vector<uint8_t> read_idx(const fs::path& path, uint32_t magic, std::vector<uint32_t>& dims) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw InputError(fmt::format("{}: no such file", name));
  if (fs::is_directory(status)) throw InputError(fmt::format("{}: is a directory, not an IDX file", name));
  if (!fs::is_regular_file(status)) throw InputError(fmt::format("{}: not a regular file", name));
  const uint64_t file_size = fs::file_size(path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot read its size: {}", name, ec.message()));
  if (file_size == 0) throw InputError(fmt::format("{}: empty file", name));

  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open for reading", name));

  const size_t ndims = dims.size();
  const uint64_t header_size = 4 + 4 * ndims;
  if (file_size < header_size)
    throw InputError(fmt::format("{}: truncated header ({} bytes, expected {})", name, file_size, header_size));
  std::array<unsigned char, 16> header{};
  in.read(reinterpret_cast<char*>(header.data()), std::streamsize(header_size));
  if (!in) throw InputError(fmt::format("{}: read error in header", name));

  const uint32_t got_magic = big_endian_u32(header.data());
  if (got_magic != magic)
    throw InputError(fmt::format("{}: wrong magic number {} (expected {}: {})", name, got_magic, magic,
                                 magic == kIdxImagesMagic ? "uint8 images" : "uint8 labels"));
  uint64_t payload = 1;  // saturates instead of overflowing; then it cannot match the file size
  for (size_t d = 0; d < ndims; ++d) {
    dims[d] = big_endian_u32(header.data() + 4 + 4 * d);
    if (dims[d] == 0) throw InputError(fmt::format("{}: dimension {} is zero", name, d));
    payload = dims[d] > std::numeric_limits<uint64_t>::max() / payload ? std::numeric_limits<uint64_t>::max()
                                                                       : payload * dims[d];
  }
  if (payload > file_size - header_size)
    throw InputError(fmt::format("{}: header claims {} items ({} data bytes) but the file has only {} data bytes "
                                 "(truncated, or a wrong header)",
                                 name, dims[0], payload, file_size - header_size));
  if (payload < file_size - header_size)
    throw InputError(fmt::format("{}: header claims {} items ({} data bytes) but the file has {} data bytes "
                                 "(trailing bytes, or a wrong header)",
                                 name, dims[0], payload, file_size - header_size));
  if (dims[0] > uint32_t(std::numeric_limits<int>::max()))
    throw InputError(fmt::format("{}: {} items is more than hdr supports", name, dims[0]));

  std::vector<uint8_t> data(payload);
  in.read(reinterpret_cast<char*>(data.data()), std::streamsize(payload));
  if (uint64_t(in.gcount()) != payload) throw InputError(fmt::format("{}: read error in data", name));
  return data;
}

}  // namespace

IdxImages read_idx_images(const fs::path& path) {
  std::vector<uint32_t> dims(3);
  IdxImages out;
  out.pixels = read_idx(path, kIdxImagesMagic, dims);
  if (dims[1] > 4096 || dims[2] > 4096)
    throw InputError(
        fmt::format("{}: image size {}x{} is implausible (max 4096x4096)", path.string(), dims[1], dims[2]));
  out.count = int(dims[0]);
  out.rows = int(dims[1]);
  out.cols = int(dims[2]);
  return out;
}

std::vector<uint8_t> read_idx_labels(const fs::path& path, int num_classes) {
  std::vector<uint32_t> dims(1);
  auto labels = read_idx(path, kIdxLabelsMagic, dims);
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= num_classes)
      throw InputError(fmt::format("{}: label {} at item {} is out of range (expected 0..{})", path.string(), labels[i],
                                   i, num_classes - 1));
  return labels;
}

LabelledImages read_idx_pair(const fs::path& images, const fs::path& labels, int num_classes) {
  LabelledImages out;
  out.images = read_idx_images(images);
  out.labels = read_idx_labels(labels, num_classes);
  out.num_classes = num_classes;
  if (size_t(out.images.count) != out.labels.size())
    throw InputError(fmt::format("{} holds {} images but {} holds {} labels", images.string(), out.images.count,
                                 labels.string(), out.labels.size()));
  return out;
}

namespace {

void put_big_endian_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

}  // namespace

std::vector<uint8_t> encode_idx_images(const IdxImages& images) {
  std::vector<uint8_t> out;
  out.reserve(16 + images.pixels.size());
  for (uint32_t v : {kIdxImagesMagic, uint32_t(images.count), uint32_t(images.rows), uint32_t(images.cols)})
    put_big_endian_u32(out, v);
  out.insert(out.end(), images.pixels.begin(), images.pixels.end());
  return out;
}

std::vector<uint8_t> encode_idx_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> out;
  out.reserve(8 + labels.size());
  put_big_endian_u32(out, kIdxLabelsMagic);
  put_big_endian_u32(out, uint32_t(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

MnistFiles::MnistFiles(const fs::path& dir)
    : train_images(dir / "train-images-idx3-ubyte"),
      train_labels(dir / "train-labels-idx1-ubyte"),
      test_images(dir / "t10k-images-idx3-ubyte"),
      test_labels(dir / "t10k-labels-idx1-ubyte") {}

bool MnistFiles::all_present() const {
  for (const auto* p : {&train_images, &train_labels, &test_images, &test_labels})
    if (!fs::is_regular_file(*p)) return false;
  return true;
}

}  // namespace hdr

#include "engine/io/corrections.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/core/atomic_file.h"
#include "engine/core/errors.h"

namespace hdr {
namespace fs = std::filesystem;

CorrectionFiles::CorrectionFiles(const fs::path& dir)
    : images(dir / "corrections-images-idx3-ubyte"),
      labels(dir / "corrections-labels-idx1-ubyte"),
      lock(dir / "corrections.lock") {}

LabelledImages read_corrections(const fs::path& dir, int side, int classes) {
  const CorrectionFiles files(dir);
  LabelledImages set;
  set.num_classes = classes;
  set.images.rows = set.images.cols = side;
  std::error_code ec;
  // No labels file: no correction was ever completed (the first one's images may have landed).
  if (!fs::exists(files.labels, ec)) return set;
  if (!fs::exists(files.images, ec))
    throw InputError(fmt::format("{}: the labels have no images file beside them ({})", dir.string(),
                                 files.images.filename().string()));
  // Labels first: the writer writes images first, so whatever it does meanwhile, the images file
  // read second holds at least as many as the labels read.
  set.labels = read_idx_labels(files.labels, classes);
  set.images = read_idx_images(files.images);
  if (set.images.rows != side || set.images.cols != side)
    throw InputError(fmt::format("{}: images of {} x {} pixels; the model takes {} x {}", files.images.string(),
                                 set.images.rows, set.images.cols, side, side));
  if (size_t(set.images.count) < set.labels.size())
    throw InputError(fmt::format("{}: {} labels but only {} images in {}", dir.string(), set.labels.size(),
                                 set.images.count, files.images.filename().string()));
  // One image more than labels: a correction whose labels were not written; it is not in the set.
  set.images.count = int(set.labels.size());
  set.images.pixels.resize(set.labels.size() * size_t(side) * size_t(side));
  return set;
}

CorrectionWriter::CorrectionWriter(const fs::path& dir, int side, int classes, int capacity)
    : files_(dir), classes_(classes), capacity_(capacity) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw InputError(fmt::format("--corrections {}: cannot create this folder ({})", dir.string(),
                                 ec ? ec.message() : "a file is in the way"));
  lock_fd_ = ::open(files_.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    throw InputError(
        fmt::format("--corrections {}: cannot open {} ({})", dir.string(), files_.lock.string(), std::strerror(errno)));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    throw InputError(
        fmt::format("--corrections {}: another process is storing corrections in this folder", dir.string()));
  }
  try {
    set_ = read_corrections(dir, side, classes);
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

CorrectionWriter::~CorrectionWriter() { ::close(lock_fd_); }

int CorrectionWriter::append(std::span<const uint8_t> image, int label) {
  const size_t per_image = size_t(set_.images.rows) * size_t(set_.images.cols);
  if (image.size() != per_image)
    throw InputError(fmt::format("a correction of {} pixels; the model's images have {}", image.size(), per_image));
  if (label < 0 || label >= classes_)
    throw InputError(fmt::format("label {} is out of range (expected 0..{})", label, classes_ - 1));
  const std::lock_guard lock(mutex_);
  if (set_.images.count >= capacity_)
    throw InputError(
        fmt::format("the corrections set is full ({} corrections): train on it and start a new one", capacity_));
  LabelledImages next = set_;
  next.images.pixels.insert(next.images.pixels.end(), image.begin(), image.end());
  next.images.count += 1;
  next.labels.push_back(uint8_t(label));
  write_file_atomically(files_.images, encode_idx_images(next.images));
  write_file_atomically(files_.labels, encode_idx_labels(next.labels));
  set_ = std::move(next);
  return set_.images.count;
}

int CorrectionWriter::count() const {
  const std::lock_guard lock(mutex_);
  return set_.images.count;
}

std::vector<int> CorrectionWriter::count_by_label() const {
  const std::lock_guard lock(mutex_);
  std::vector<int> counts(size_t(classes_), 0);
  for (uint8_t l : set_.labels) ++counts[l];
  return counts;
}

}  // namespace hdr

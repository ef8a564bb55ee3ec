// The user's corrections: digits the model read wrong, as the model saw them (side x side bytes),
// with the label the user gave, kept in a folder as a pair of IDX files
// (corrections-images-idx3-ubyte, corrections-labels-idx1-ubyte) that `hdr train --data-extra`
// reads.
//
// Each append rewrites both files atomically (engine/core/atomic_file.h), the images first and
// the labels last, so a kill or a full disk at any moment leaves a readable set: at worst the
// images file holds one image more than the labels file, and that image (the correction in
// flight) is not part of the set.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <span>
#include <vector>

#include "engine/io/idx.h"

namespace hdr {

struct CorrectionFiles {
  std::filesystem::path images, labels, lock;
  explicit CorrectionFiles(const std::filesystem::path& dir);
};

// The set in `dir` (empty when it holds none yet). InputError when the files are not a set of
// side x side images with labels under `classes`.
LabelledImages read_corrections(const std::filesystem::path& dir, int side, int classes);

// Appends to the set in a folder, which one writer holds at a time (an flock on its lock file).
class CorrectionWriter {
 public:
  // Creates the folder where needed and reads the set there. InputError when another process
  // holds the folder or its set does not read.
  CorrectionWriter(const std::filesystem::path& dir, int side, int classes, int capacity);
  ~CorrectionWriter();
  CorrectionWriter(const CorrectionWriter&) = delete;
  CorrectionWriter& operator=(const CorrectionWriter&) = delete;

  // Stores one correction; returns the set's new size. InputError for a wrong image size or
  // label, or when the set holds `capacity` corrections already; std::runtime_error naming the
  // file when a write fails (the set on disk and in memory stay as they were). Thread-safe.
  int append(std::span<const uint8_t> image, int label);

  int count() const;
  int capacity() const { return capacity_; }
  int classes() const { return classes_; }
  std::vector<int> count_by_label() const;

 private:
  CorrectionFiles files_;
  int classes_, capacity_;
  int lock_fd_ = -1;
  mutable std::mutex mutex_;
  LabelledImages set_;
};

}  // namespace hdr

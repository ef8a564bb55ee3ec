// The MNIST test set from data/mnist (the folder users fetch into; tests/mnist_dir.h), read once
// per test process, and its digits as 28x28 bytes.
#pragma once

#include <span>

#include "engine/io/idx.h"
#include "tests/mnist_dir.h"

namespace hdr::test {

inline const LabelledImages& mnist_test() {
  static const LabelledImages set = [] {
    const MnistFiles files(mnist_dir());
    return read_idx_pair(files.test_images, files.test_labels, 10);
  }();
  return set;
}

inline std::span<const uint8_t> mnist_digit(int i) {
  return {mnist_test().images.pixels.data() + size_t(i) * 784, 784};
}
inline int mnist_label(int i) { return mnist_test().labels[size_t(i)]; }

}  // namespace hdr::test

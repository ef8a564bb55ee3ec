// The MNIST test set from data/mnist (the folder users fetch into; tests/mnist_dir.h), read once
// per test process, and its digits as 28x28 bytes.
#pragma once

#include <span>
#include <vector>

#include "engine/io/idx.h"
#include "engine/io/image_io.h"
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

// The test digits `indices` side by side in their 28 x 28 cells, 8 pixels of margin around, as
// MNIST draws them (light on dark): a number whose digits are apart, and where each one is.
inline DecodedImage mnist_line(const std::vector<int>& indices) {
  constexpr int kMargin = 8;
  DecodedImage image{28 * int(indices.size()) + 2 * kMargin, 28 + 2 * kMargin, 1, {}};
  image.pixels.assign(size_t(image.width) * size_t(image.height), 0);
  for (size_t k = 0; k < indices.size(); ++k)
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x)
        image.pixels[size_t(kMargin + y) * size_t(image.width) + size_t(kMargin + 28 * int(k) + x)] = mnist_digit(
            indices[k])[size_t(y * 28 + x)];
  return image;
}

}  // namespace hdr::test

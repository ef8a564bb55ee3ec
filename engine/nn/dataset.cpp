#include "engine/nn/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "engine/core/errors.h"
#include "kernels/philox.cuh"

namespace hdr {

std::vector<int32_t> shuffled_indices(int n, const RandomKey& key) {
  std::vector<int32_t> order(size_t(std::max(n, 0)));
  std::iota(order.begin(), order.end(), 0);
  for (int i = n - 1; i > 0; --i) {
    // 32 random bits mod (i + 1): the bias is below 2^-15 for the 60k of MNIST.
    const uint32_t j = random_words(key, uint32_t(i), 0).v[0] % uint32_t(i + 1);
    std::swap(order[size_t(i)], order[j]);
  }
  return order;
}

void require_input_size(const LabelledImages& set, const ModelSpec& model, const std::string& source) {
  if (set.images.rows != model.input_h || set.images.cols != model.input_w || model.input_c != 1)
    throw InputError(fmt::format("{} holds {}x{} single-channel images but the model's [model] input is {}x{}x{}",
                                 source, set.images.rows, set.images.cols, model.input_h, model.input_w,
                                 model.input_c));
}

LabelledImages subset(const LabelledImages& set, const std::vector<int32_t>& rows) {
  LabelledImages out;
  out.num_classes = set.num_classes;
  out.images.rows = set.images.rows;
  out.images.cols = set.images.cols;
  out.images.count = int(rows.size());
  const size_t pixels = size_t(set.images.rows) * set.images.cols;
  out.images.pixels.resize(rows.size() * pixels);
  out.labels.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(set.images.pixels.begin() + ptrdiff_t(size_t(rows[i]) * pixels), pixels,
                out.images.pixels.begin() + ptrdiff_t(i * pixels));
    out.labels[i] = set.labels[size_t(rows[i])];
  }
  return out;
}

Datasets load_datasets(const DataSpec& spec, const ModelSpec& model, uint64_t seed) {
  const int classes = model.classes;
  const MnistFiles files(spec.dir);
  LabelledImages train = read_idx_pair(files.train_images, files.train_labels, classes);
  Datasets out;
  out.test = read_idx_pair(files.test_images, files.test_labels, classes);
  if (train.images.rows != out.test.images.rows || train.images.cols != out.test.images.cols)
    throw InputError(fmt::format("{}: training images are {}x{} but test images are {}x{}", spec.dir, train.images.rows,
                                 train.images.cols, out.test.images.rows, out.test.images.cols));
  require_input_size(train, model, spec.dir);
  int count = train.count();
  if (spec.train_limit > 0 && spec.train_limit < count) count = spec.train_limit;
  // Seeded split of the first `count` rows: a fixed validation set for the whole run.
  std::vector<int32_t> order = shuffled_indices(count, RandomKey{seed, 0, kStreamSplit});
  const int val = int(double(count) * spec.validation_split + 0.5);
  if (count - val < 1)
    throw InputError(fmt::format("[data] validation_split {} leaves no training images", spec.validation_split));
  if (spec.validation_split > 0 && val == 0)
    throw InputError(fmt::format("[data] validation_split {} of {} training images is no image at all: use more "
                                 "images or a larger split",
                                 spec.validation_split, count));
  out.validation = subset(train, std::vector<int32_t>(order.end() - val, order.end()));
  order.resize(size_t(count - val));
  out.train = subset(train, order);
  return out;
}

DeviceImages::DeviceImages(Backend& backend, const LabelledImages& set)
    : images(backend, set.images.pixels.size()),
      labels(backend, set.labels.size()),
      rows(backend, set.labels.size()),
      count(set.count()),
      h(set.images.rows),
      w(set.images.cols) {
  images.upload(set.images.pixels);
  labels.upload(set.labels);
  std::vector<int32_t> identity(set.labels.size());
  std::iota(identity.begin(), identity.end(), 0);
  rows.upload(identity);
}

}  // namespace hdr

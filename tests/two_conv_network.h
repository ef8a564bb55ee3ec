// A small network with two convolutions (so that one computes an input gradient): conv1's ReLU
// folds into the batch norm, which runs fused with the pooling; conv2 keeps its own ReLU (no
// batch norm follows it). Batches of 4, and synthetic 28x28 images, for tests of what a model
// plans (model_prepare_test) and what a profiled step times (profiling_backend_test).
#pragma once

#include <cstdint>

#include "engine/nn/dataset.h"

namespace hdr::test {

inline constexpr const char* kTwoConvIni = R"([model]
name = two_conv
input = 28x28x1
classes = 10
[layer.conv1]
type = conv2d
filters = 4
kernel = 3
activation = relu
[layer.bn]
type = batchnorm
[layer.pool]
type = maxpool
size = 2
[layer.conv2]
type = conv2d
filters = 4
kernel = 3
activation = relu
[layer.flat]
type = flatten
[layer.out]
type = dense
units = 10
activation = softmax
[train]
batch_size = 4
)";

// `count` images of a fixed pattern, labelled 0-9 in turn.
inline LabelledImages two_conv_images(int count) {
  LabelledImages set;
  set.num_classes = 10;
  set.images.count = count, set.images.rows = 28, set.images.cols = 28;
  set.images.pixels.resize(size_t(count) * 28 * 28);
  for (size_t i = 0; i < set.images.pixels.size(); ++i) set.images.pixels[i] = uint8_t(i * 37 % 256);
  for (int i = 0; i < count; ++i) set.labels.push_back(uint8_t(i % 10));
  return set;
}

}  // namespace hdr::test

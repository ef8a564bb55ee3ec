// A small network with every kind of state a training run carries (convolution and dense
// weights, batch-norm statistics, dropout) that trains in well under a second on a few thousand
// MNIST images: for tests of whole runs and of what their checkpoints hold.
#pragma once

#include <string_view>

namespace hdr::test {

inline constexpr std::string_view kSmallNetworkIni = R"([model]
name = small
input = 28x28x1
classes = 10
[layer.conv]
type = conv2d
filters = 8
kernel = 3
activation = relu
[layer.bn]
type = batchnorm
[layer.pool]
type = maxpool
size = 2
[layer.drop]
type = dropout
rate = 0.25
[layer.flat]
type = flatten
[layer.out]
type = dense
units = 10
activation = softmax
)";

}  // namespace hdr::test

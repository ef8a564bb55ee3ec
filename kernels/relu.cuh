// ReLU for layers without batch norm (conv or dense with activation = relu).
#pragma once

#include "kernels/hd.h"

namespace hdr {

HDR_HD inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
// Gradient through a ReLU, from its output: y > 0 exactly where x > 0.
HDR_HD inline float relu_grad(float y, float dy) { return y > 0.0f ? dy : 0.0f; }

}  // namespace hdr

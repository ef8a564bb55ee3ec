// A standalone ReLU layer (type = relu), for configs that write the activation as its own layer.
#include "engine/nn/layers/layers.h"

namespace hdr {

void ReLU::forward(const Pass& pass, const float* x, float* y) {
  pass.backend.relu_forward({.count = int64_t(pass.n) * input_shape().size(), .x = x, .y = y});
}

void ReLU::backward(const Pass& pass, const float*, const float* y, float* dy, float* dx) {
  if (dx) pass.backend.relu_backward({.count = int64_t(pass.n) * input_shape().size(), .y = y, .dy = dy, .dx = dx});
}

}  // namespace hdr

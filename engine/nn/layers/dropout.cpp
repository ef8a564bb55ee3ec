// Dropout: the mask is a pure function of (seed, epoch, sample, element, layer); the forward
// leaves it in keep_bits_ for its backward where the backend records it (the CPU), and the GPU
// recomputes it. Outside training the model skips the layer (identity_at_inference).
#include "kernels/dropout.cuh"
#include "engine/nn/layers/layers.h"

namespace hdr {

Dropout::Dropout(const LayerSpec& spec, int index, Shape in)
    : Layer(spec.name, in, in), rate_(spec.rate), stream_(kStreamDropout + uint32_t(index)) {}

void Dropout::allocate_workspace(Backend& backend, int max_batch) {
  keep_bits_ = DeviceArray<uint8_t>(backend, size_t(dropout_keep_bytes(max_batch, input_shape().size())));
}

RandomKey Dropout::key(const Pass& pass) const {
  RandomKey k = pass.key;
  k.stream = stream_;
  return k;
}

void Dropout::forward(const Pass& pass, const float* x, float* y) {
  pass.backend.dropout_forward({.rate = rate_,
                                .key = key(pass),
                                .first_sample = pass.first_sample,
                                .shape = input_activations(pass.n),
                                .x = x,
                                .y = y,
                                .keep_bits = keep_bits_.data()});
}

void Dropout::backward(const Pass& pass, const float*, const float*, float* dy, float* dx) {
  if (dx)
    pass.backend.dropout_backward({.rate = rate_,
                                   .key = key(pass),
                                   .first_sample = pass.first_sample,
                                   .shape = input_activations(pass.n),
                                   .keep_bits = keep_bits_.data(),
                                   .dy = dy,
                                   .dx = dx});
}

}  // namespace hdr

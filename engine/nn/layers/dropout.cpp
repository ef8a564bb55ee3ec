// Dropout: the mask is a pure function of (seed, epoch, sample, element, layer), recomputed in
// backward. Outside training the model skips the layer (identity_at_inference).
#include "engine/nn/layers/layers.h"

namespace hdr {

Dropout::Dropout(const LayerSpec& spec, int index, Shape in)
    : Layer(spec.name, in, in), rate_(spec.rate), stream_(kStreamDropout + uint32_t(index)) {}

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
                                .y = y});
}

void Dropout::backward(const Pass& pass, const float*, const float*, float* dy, float* dx) {
  if (dx)
    pass.backend.dropout_backward({.rate = rate_,
                                   .key = key(pass),
                                   .first_sample = pass.first_sample,
                                   .shape = input_activations(pass.n),
                                   .dy = dy,
                                   .dx = dx});
}

}  // namespace hdr

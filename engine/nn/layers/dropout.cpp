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
  const Shape in = input_shape();
  pass.backend.dropout_forward(rate_, key(pass), pass.first_sample, pass.n, in.c,
                               int64_t(in.h) * in.w, x, y);
}

void Dropout::backward(const Pass& pass, const float*, const float*, float* dy, float* dx) {
  if (dx)
    pass.backend.dropout_backward(rate_, key(pass), pass.first_sample, pass.n,
                                  input_shape().c, int64_t(input_shape().h) * input_shape().w, dy, dx);
}

}  // namespace hdr

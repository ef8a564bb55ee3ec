// MaxPooling2D ('valid', floor): the argmax of each window is kept for the backward scatter.
#include "engine/core/errors.h"
#include "engine/nn/layers/layers.h"

namespace hdr {

namespace {
Shape pooled(const LayerSpec& spec, Shape in) {
  const int stride = spec.pool_stride > 0 ? spec.pool_stride : spec.pool;
  if (in.h < spec.pool || in.w < spec.pool)
    throw InputError(fmt::format("[layer.{}] a {}x{} pool does not fit the {}x{} input", spec.name, spec.pool,
                                 spec.pool, in.h, in.w));
  return Shape{in.c, (in.h - spec.pool) / stride + 1, (in.w - spec.pool) / stride + 1};
}
}  // namespace

MaxPool2D::MaxPool2D(const LayerSpec& spec, Shape in)
    : Layer(spec.name, in, pooled(spec, in)),
      size_(spec.pool),
      stride_(spec.pool_stride > 0 ? spec.pool_stride : spec.pool) {}

PoolGeometry MaxPool2D::geometry(int n) const {
  const Shape in = input_shape();
  return PoolGeometry{n, in.c, in.h, in.w, size_, stride_};
}

void MaxPool2D::allocate_workspace(Backend& backend, int max_batch) {
  argmax_ = DeviceArray<int32_t>(backend, size_t(max_batch) * output_shape().size());
  x_max_ = DeviceArray<float>(backend, size_t(max_batch) * output_shape().size());
}

void MaxPool2D::forward(const Pass& pass, const float* x, float* y) {
  pass.backend.maxpool_forward({.g = geometry(pass.n),
                                .layout = input_layout(),
                                .x = x,
                                .y = y,
                                .argmax = pass.training ? argmax_.data() : nullptr});  // for backward only
}

void MaxPool2D::backward(const Pass& pass, const float*, const float*, float* dy, float* dx) {
  if (dx)
    pass.backend.maxpool_backward(
        {.g = geometry(pass.n), .layout = input_layout(), .dy = dy, .argmax = argmax_.data(), .dx = dx});
}

}  // namespace hdr

#include "engine/nn/layers/layer.h"

#include <fmt/format.h>

namespace hdr {

std::string Shape::str() const {
  if (h == 1 && w == 1) return fmt::format("({})", c);
  return fmt::format("({}, {}, {})", h, w, c);
}

int64_t ParamInfo::size() const {
  int64_t s = 1;
  for (int64_t d : shape) s *= d;
  return s;
}

}  // namespace hdr

#include "engine/nn/layers/layers.h"

namespace hdr {

std::unique_ptr<Layer> make_layer(const LayerSpec& spec, int index, Shape in, bool fused_relu) {
  const bool relu = spec.activation == Activation::kRelu;
  switch (spec.type) {
    case LayerType::kConv2D: return std::make_unique<Conv2D>(spec, in, relu);
    case LayerType::kDense: return std::make_unique<Dense>(spec, in, relu);
    case LayerType::kBatchNorm:
      return std::make_unique<BatchNorm>(spec, in,
                                         fused_relu ? BnActivation::kReluBefore
                                         : relu     ? BnActivation::kReluAfter
                                                    : BnActivation::kNone);
    case LayerType::kMaxPool: return std::make_unique<MaxPool2D>(spec, in);
    case LayerType::kDropout: return std::make_unique<Dropout>(spec, index, in);
    case LayerType::kFlatten: return std::make_unique<Flatten>(spec, in);
    case LayerType::kRelu: return std::make_unique<ReLU>(spec, in);
  }
  throw std::logic_error("unhandled layer type");
}

}  // namespace hdr

// Trained hdr models as one ONNX graph, built with the ONNX library's protobuf classes and
// checked by its checker (onnx::checker::check_model). The graph takes what a user has: `image`,
// uint8 [N, 28, 28] (MNIST's form: a white digit on black, centred, values 0-255), applies the
// model's own scaling and normalisation, and answers `probabilities`, float [N, classes].
// Convolution, batch norm (as BatchNormalization, in inference form), ReLU, max pooling,
// flatten, dense (Gemm), softmax; dropout and augmentation are absent, as at inference. Several
// models (an ensemble) become one graph averaging their probabilities (Mean). Metadata: hdr's
// version, each member's config and recorded test accuracy.
#pragma once

#include <string>
#include <vector>

#include "engine/inference/inference.h"

namespace hdr::cli {

// The serialised ONNX model of `members` (one model, or an ensemble); an InputError naming the
// model and layer when one cannot be exported.
std::string onnx_model_bytes(const std::vector<TrainedModel>& members);

}  // namespace hdr::cli

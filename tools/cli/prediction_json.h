// One image's prediction as JSON, the same for `hdr predict --json` and `hdr serve`'s /predict:
// {"prediction", "confidence", "top": [[digit, p], ...], "probabilities": [...]}; and a number's
// (--number, ?number=1): {"number", "confidence", "digits": [{"box": {x, y, width, height}, and
// the digit's prediction as above}, ...]}.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "engine/io/read_number.h"

namespace hdr::cli {

// The k most probable classes, most probable first (ties: the smaller class first).
std::vector<int> top_classes(std::span<const float> probabilities, int k);

nlohmann::json prediction_json(std::span<const float> probabilities, int top);

nlohmann::json number_json(const NumberReading& reading, int top);

}  // namespace hdr::cli

// One image's prediction as JSON, the same for `hdr predict --json` and `hdr serve`'s /predict:
// {"prediction", "confidence", "top": [[digit, p], ...], "probabilities": [...]}.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <vector>

namespace hdr::cli {

// The k most probable classes, most probable first (ties: the smaller class first).
std::vector<int> top_classes(std::span<const float> probabilities, int k);

nlohmann::json prediction_json(std::span<const float> probabilities, int top);

}  // namespace hdr::cli

#include "tools/cli/prediction_json.h"

#include <algorithm>
#include <numeric>

namespace hdr::cli {

std::vector<int> top_classes(std::span<const float> probabilities, int k) {
  std::vector<int> order(probabilities.size());
  std::iota(order.begin(), order.end(), 0);
  k = std::clamp(k, 0, int(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return probabilities[size_t(a)] > probabilities[size_t(b)] ||
           (probabilities[size_t(a)] == probabilities[size_t(b)] && a < b);
  });
  order.resize(size_t(k));
  return order;
}

nlohmann::json prediction_json(std::span<const float> probabilities, int top) {
  const std::vector<int> ranked = top_classes(probabilities, std::max(top, 1));
  nlohmann::json pairs = nlohmann::json::array();
  for (int c : ranked) pairs.push_back({c, probabilities[size_t(c)]});
  return {{"prediction", ranked[0]},
          {"confidence", probabilities[size_t(ranked[0])]},
          {"top", std::move(pairs)},
          {"probabilities", std::vector<float>(probabilities.begin(), probabilities.end())}};
}

nlohmann::json number_json(const NumberReading& reading, int top) {
  nlohmann::json digits = nlohmann::json::array();
  for (const NumberDigit& d : reading.digits) {
    nlohmann::json digit = {{"box", {{"x", d.x}, {"y", d.y}, {"width", d.width}, {"height", d.height}}}};
    digit.update(prediction_json(d.probabilities, top));
    digits.push_back(std::move(digit));
  }
  return {{"number", reading.text}, {"confidence", reading.confidence}, {"digits", std::move(digits)}};
}

}  // namespace hdr::cli

// Counts written the way Keras prints parameter totals: 242954 -> "242,954".
#pragma once

#include <cstdint>
#include <string>

namespace hdr {

inline std::string with_thousands(int64_t v) {
  const std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace hdr

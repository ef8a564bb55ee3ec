// Reproducible test inputs shared by the kernel tests (a CPU test and its *_simt twin draw the
// same values).
#pragma once

#include <cstdint>
#include <vector>

namespace hdr::test {

// Values in [low, high) from a linear congruential sequence, with random sign when signed_values.
inline std::vector<float> make_values(size_t count, float low, float high, uint32_t seed, bool signed_values) {
  std::vector<float> values(count);
  for (auto& value : values) {
    seed = seed * 1664525u + 1013904223u;
    value = low + (high - low) * float(seed >> 8) / 16777216.0f;
    if (signed_values && (seed & 1u)) value = -value;
  }
  return values;
}

}  // namespace hdr::test

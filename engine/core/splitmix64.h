// SplitMix64 (Steele, Lea, Flood 2014): a tiny stream that is a pure function of its seed, for
// deterministic test data the same on every platform (the backend comparison's inputs, the
// synthetic user-style digits). Training randomness is Philox (kernels/philox.cuh), not this.
#pragma once

#include <cstdint>

namespace hdr {

inline uint64_t splitmix64_next(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace hdr

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so every random number is a pure function of (key, counter) and
// no generator state travels between kernels or devices. Same constants as cuRAND and
// Random123, so CPU and GPU draw the very same numbers.
#pragma once

#include <cstdint>

#include "kernels/hd.h"
#include "kernels/types.h"

namespace hdr {

struct Philox4 {
  uint32_t v[4];
};

HDR_HD inline uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t product = uint64_t(a) * uint64_t(b);
  *hi = uint32_t(product >> 32);
  return uint32_t(product);
}

// The ten rounds on counter words c0..c3 of type W: uint32_t here and on the GPU, a vector of
// counters on the CPU (kernels/cpu/philox_lanes.h), with mulhilo(a, m, &hi) for that type.
template <class W, class MulHiLo>
HDR_HD inline void philox_rounds(W& c0, W& c1, W& c2, W& c3, uint32_t k0, uint32_t k1, MulHiLo mulhilo) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // multipliers
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
  for (int round = 0; round < 10; ++round) {
    W hi0, hi1;
    const W lo0 = mulhilo(c0, kM0, &hi0);
    const W lo1 = mulhilo(c2, kM1, &hi1);
    c0 = hi1 ^ c1 ^ k0;
    c2 = hi0 ^ c3 ^ k1;
    c1 = lo1;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
}

struct ScalarMulHiLo {
  HDR_HD uint32_t operator()(uint32_t a, uint32_t m, uint32_t* hi) const { return philox_mulhilo(a, m, hi); }
};

HDR_HD inline Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
  philox_rounds(ctr.v[0], ctr.v[1], ctr.v[2], ctr.v[3], k0, k1, ScalarMulHiLo{});
  return ctr;
}

// Four random words for (sample, group) under a key: counter = (sample, group, epoch, stream).
HDR_HD inline Philox4 random_words(const RandomKey& key, uint32_t sample, uint32_t group) {
  return philox4x32_10(Philox4{{sample, group, key.epoch, key.stream}}, uint32_t(key.seed), uint32_t(key.seed >> 32));
}

// Uniform float in [0, 1) from the top 24 bits (exactly representable, never 1.0).
HDR_HD inline float uniform01(uint32_t word) { return float(word >> 8) * (1.0f / 16777216.0f); }

}  // namespace hdr

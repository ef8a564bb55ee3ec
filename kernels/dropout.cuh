// Dropout, element math shared by the CUDA kernel and cpu/dropout.cpp.
//
// Element j of sample s (the sample's index in the whole epoch, not in the batch, so a batch
// split never changes a mask) is kept iff uniform01(word) >= rate, where
//     word = random_words(key, s, j / 4).v[j % 4]
// (one Philox call serves four consecutive elements). Kept values are scaled by 1 / (1 - rate)
// (inverted dropout: the expectation is unchanged); dropped values are 0. Backward recomputes
// the same decision from the same key, so no mask is ever stored: dx = keep ? dy * scale : 0.
// j is the logical index inside the sample (c, h, w order), whatever the memory layout.
#pragma once

#include <cstdint>

#include "kernels/hd.h"
#include "kernels/philox.cuh"
#include "kernels/types.h"

namespace hdr {

// The factor applied to kept values; rate < 1 (rate == 1 keeps nothing, the factor is unused).
HDR_HD inline float dropout_scale(float rate) { return rate < 1.0f ? 1.0f / (1.0f - rate) : 0.0f; }

// The keep decision of one element from its random word.
HDR_HD inline bool dropout_keep(float rate, uint32_t word) { return uniform01(word) >= rate; }

// The four random words of elements 4 * group .. 4 * group + 3 of sample `sample`.
HDR_HD inline Philox4 dropout_words(const RandomKey& key, uint32_t sample, uint32_t group) {
  return random_words(key, sample, group);
}

// One element, forward or backward alike: value * scale when kept, else 0.
HDR_HD inline float dropout_apply(float rate, float scale, uint32_t word, float value) {
  return dropout_keep(rate, word) ? value * scale : 0.0f;
}

}  // namespace hdr

// Dropout's keep decisions (kernels/dropout.cuh) for a run of consecutive elements of one sample,
// shared by the NCHW and the blocked (nChw8c, nChw16c) CPU kernels: kVectorLanes Philox calls at once, each lane
// one group of four elements, on the rounds of kernels/philox.cuh. The same words, so the same
// masks, as the scalar code and the GPU; only the multiply is spelt for the vector unit. Also the
// keep bits that carry the decisions to backward, and backward from them.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/lanes.h"
#include "kernels/dropout.cuh"
#include "kernels/philox.cuh"

namespace hdr::cpu {

using WordLanes = Lanes<kVectorLanes>::U;

// philox_mulhilo on every lane. vpmuludq multiplies the low 32 bits of each 64-bit lane, so the
// even and the odd lanes are multiplied apart and their halves blended back in place. (GCC's
// own 64-bit vector multiply takes three vpmuludq where one does.)
struct LaneMulHiLo {
  WordLanes operator()(WordLanes a, uint32_t m, WordLanes* hi) const {
#if defined(__AVX512F__)
    // The maskz forms with every lane set: the plain ones pass _mm512_undefined_epi32(), which
    // GCC 12 reports as maybe-uninitialized once inlined.
    constexpr __mmask8 kAll = 0xFF;
    const __m512i x = __m512i(a), mv = _mm512_set1_epi32(int(m));
    const __m512i even = _mm512_maskz_mul_epu32(kAll, x, mv);
    const __m512i odd = _mm512_maskz_mul_epu32(kAll, _mm512_maskz_srli_epi64(kAll, x, 32), mv);
    *hi = WordLanes(_mm512_mask_blend_epi32(0xAAAA, _mm512_maskz_srli_epi64(kAll, even, 32), odd));
    return WordLanes(_mm512_mask_blend_epi32(0xAAAA, even, _mm512_maskz_slli_epi64(kAll, odd, 32)));
#elif defined(__AVX2__)
    const __m256i x = __m256i(a), mv = _mm256_set1_epi32(int(m));
    const __m256i even = _mm256_mul_epu32(x, mv), odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), mv);
    *hi = WordLanes(_mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA));
    return WordLanes(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA));
#else  // a portable build (x86-64 without AVX2): lane by lane
    WordLanes lo;
    for (int l = 0; l < kVectorLanes; ++l) {
      uint32_t h;
      lo[l] = philox_mulhilo(a[l], m, &h);
      (*hi)[l] = h;
    }
    return lo;
#endif
  }
};

// dropout_apply(rate, scale, word, 1.0f) on every lane: scale where kept, 0 where dropped.
inline Lanes<kVectorLanes>::F keep_factors(float rate, float scale, WordLanes words) {
  using V = Lanes<kVectorLanes>;
  const V::F u = __builtin_convertvector(V::I(words >> 8), V::F) * (1.0f / 16777216.0f);  // uniform01
  return u >= rate ? V::splat(scale) : V::F{};
}

// A shuffle mask of store_interleaved: lanes first, first + 1, ... of a and of b, `width` at a
// time, alternately. (0, 1) = a0 b0 a1 b1 ...; (0, 2) = a0 a1 b0 b1 a2 a3 b2 b3 ...; (L / 2, w)
// the same from the second halves. A constant after inlining: GCC emits plain shuffles.
inline Lanes<kVectorLanes>::I interleave_mask(int first, int width) {
  Lanes<kVectorLanes>::I m{};
  for (int i = 0; i < kVectorLanes; ++i)
    m[i] = (i / width) % 2 * kVectorLanes + first + i / (2 * width) * width + i % width;
  return m;
}

// out[4 * l + k] = f_k[l]: four vectors of per-word factors back in element order, by shuffles.
inline void store_interleaved(Lanes<kVectorLanes>::F f0, Lanes<kVectorLanes>::F f1, Lanes<kVectorLanes>::F f2,
                              Lanes<kVectorLanes>::F f3, float* out) {
  using V = Lanes<kVectorLanes>;
  constexpr int kHalf = kVectorLanes / 2;
  const V::I ones_low = interleave_mask(0, 1), ones_high = interleave_mask(kHalf, 1);
  const V::I twos_low = interleave_mask(0, 2), twos_high = interleave_mask(kHalf, 2);
  const V::F t0 = __builtin_shuffle(f0, f1, ones_low), t1 = __builtin_shuffle(f0, f1, ones_high);
  const V::F t2 = __builtin_shuffle(f2, f3, ones_low), t3 = __builtin_shuffle(f2, f3, ones_high);
  V::store(out, __builtin_shuffle(t0, t2, twos_low));
  V::store(out + kVectorLanes, __builtin_shuffle(t0, t2, twos_high));
  V::store(out + 2 * kVectorLanes, __builtin_shuffle(t1, t3, twos_low));
  V::store(out + 3 * kVectorLanes, __builtin_shuffle(t1, t3, twos_high));
}

// factor[k] for k in [0, 4 * groups): the keep factor (dropout_scale(rate) or 0) of element
// 4 * first_group + k of sample `sample`.
inline void dropout_factors(float rate, const RandomKey& key, uint32_t sample, uint32_t first_group, int64_t groups,
                            float* factor) {
  const float scale = dropout_scale(rate);
  int64_t g = 0;
  for (; g + kVectorLanes <= groups; g += kVectorLanes) {
    WordLanes c0 = WordLanes{} + sample, c2 = WordLanes{} + key.epoch, c3 = WordLanes{} + key.stream;
    WordLanes c1 = WordLanes(Lanes<kVectorLanes>::iota(int32_t(first_group + uint32_t(g))));
    philox_rounds(c0, c1, c2, c3, uint32_t(key.seed), uint32_t(key.seed >> 32), LaneMulHiLo{});
    store_interleaved(keep_factors(rate, scale, c0), keep_factors(rate, scale, c1), keep_factors(rate, scale, c2),
                      keep_factors(rate, scale, c3), factor + 4 * g);
  }
  for (; g < groups; ++g) {
    const Philox4 words = dropout_words(key, sample, first_group + uint32_t(g));
    for (int k = 0; k < 4; ++k) factor[4 * g + k] = dropout_apply(rate, scale, words.v[k], 1.0f);
  }
}

// dropout_apply of a value from its keep factor: exactly 0 where dropped (not -0, nor NaN from
// an infinite value), value * scale where kept.
template <class F>
inline F dropout_by_factor(F value, F factor) {
  return factor != 0.0f ? value * factor : F{};
}

// Bit l set where lane l's factor is not 0: the value kept.
template <int W>
inline uint32_t kept_lanes(typename Lanes<W>::F factor) {
#if defined(__AVX512F__)
  if constexpr (W == 16) return _mm512_cmp_ps_mask(__m512(factor), _mm512_setzero_ps(), _CMP_NEQ_UQ);
#endif
#if defined(__AVX2__)
  if constexpr (W == 8)
    return uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(__m256(factor), _mm256_setzero_ps(), _CMP_NEQ_UQ)));
#endif
  uint32_t bits = 0;
  for (int l = 0; l < W; ++l) bits |= uint32_t(factor[l] != 0.0f) << l;
  return bits;
}

// The keep bits (kernels/dropout.cuh) of W values from their factors, at bits[0 .. W / 8).
template <int W>
inline void store_kept(typename Lanes<W>::F factor, uint8_t* bits) {
  static_assert(W % 8 == 0, "whole bytes");
  const uint32_t word = kept_lanes<W>(factor);
  std::memcpy(bits, &word, W / 8);
}

// The keep bits of factor[0 .. count), from bits[0]; the last byte's unused bits are 0.
inline void record_kept(const float* factor, int64_t count, uint8_t* bits) {
  int64_t k = 0;
  for (; k + kVectorLanes <= count; k += kVectorLanes)
    store_kept<kVectorLanes>(Lanes<kVectorLanes>::load(factor + k), bits + k / 8);
  for (; k < count; k += 8) {
    uint8_t byte = 0;
    for (int b = 0; b < 8 && k + b < count; ++b) byte = uint8_t(byte | (factor[k + b] != 0.0f) << b);
    bits[k / 8] = byte;
  }
}

// Backward from the recorded bits: dx[k] = dy[k] * scale where bit k is set, else 0, exactly
// dropout_by_factor's results, with no random numbers drawn.
inline void apply_kept(float scale, const uint8_t* bits, int64_t count, const float* dy, float* dx) {
  using V = Lanes<kVectorLanes>;
  const V::I lane_bit = (V::I{} + 1) << V::iota(0);
  int64_t k = 0;
  for (; k + kVectorLanes <= count; k += kVectorLanes) {
    uint32_t word = 0;
    std::memcpy(&word, bits + k / 8, kVectorLanes / 8);
    const V::I kept = ((V::I{} + int32_t(word)) & lane_bit) != 0;
    V::store(dx + k, kept ? V::load(dy + k) * scale : V::F{});
  }
  for (; k < count; ++k) dx[k] = (bits[k / 8] >> (k % 8) & 1) ? dy[k] * scale : 0.0f;
}

}  // namespace hdr::cpu

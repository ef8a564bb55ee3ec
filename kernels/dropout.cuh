// Dropout, element math shared by the CUDA kernel and cpu/dropout.cpp.
//
// Element j of sample s (the sample's index in the whole epoch, not in the batch, so a batch
// split never changes a mask) is kept iff uniform01(word) >= rate, where
//     word = random_words(key, s, j / 4).v[j % 4]
// (one Philox call serves four consecutive elements). Kept values are scaled by 1 / (1 - rate)
// (inverted dropout: the expectation is unchanged); dropped values are 0. Backward applies the
// same decision: dx = keep ? dy * scale : 0. The GPU recomputes it from the key; the CPU reads
// back the bits its forward recorded (dropout_keep_bytes), because there the ten rounds per
// four values cost several times the values' own memory traffic.
// j is the logical index inside the sample (c, h, w order), whatever the memory layout.
#pragma once

#include <cstdint>

#include "kernels/hd.h"
#include "kernels/philox.cuh"
#include "kernels/types.h"

namespace hdr {

// rate <= 0 drops nothing: the output is a copy of the input and no random numbers are drawn.
HDR_HD inline bool dropout_is_copy(float rate) { return rate <= 0.0f; }

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

// Groups of four elements (one Philox call each) in a sample; the last may be partial.
HDR_HD inline int dropout_groups(int per_sample) { return (per_sample + 3) / 4; }

// The keep record of n samples: one bit per value in memory order (bit m % 8 of byte m / 8 for
// the sample's value m), each sample's bits a row of whole bytes.
HDR_HD inline int64_t dropout_keep_row_bytes(int64_t per_sample) { return (per_sample + 7) / 8; }
HDR_HD inline int64_t dropout_keep_bytes(int n, int64_t per_sample) { return n * dropout_keep_row_bytes(per_sample); }

#if defined(__CUDACC__) || defined(HDR_SIMT_HOST)

// One thread per group of four elements of one sample (one Philox call serves the four), over
// the flat n x groups index space; the last group of a sample may hold fewer than four, and the
// threads past n x groups in the last block do nothing. Forward and backward launch the same
// kernel (x -> y, or dy -> dx). in == out is allowed. When every group is whole and both
// pointers are 16-byte aligned (vector: per_sample % 4 == 0, dropout_vectorisable), a thread
// moves its four values with one 16-byte load and store; the element math is the same.
inline dim3 dropout_grid(int n, int per_sample, int block) {
  const int64_t threads = int64_t(n) * dropout_groups(per_sample);
  return dim3(unsigned((threads + block - 1) / block));
}

inline bool dropout_vectorisable(int per_sample, const float* in, const float* out) {
  return per_sample % 4 == 0 && (reinterpret_cast<uintptr_t>(in) | reinterpret_cast<uintptr_t>(out)) % 16 == 0;
}

__global__ void dropout_masked_scale_kernel(float rate, RandomKey key, int first_sample, int n, int per_sample,
                                            bool vector, const float* in, float* out) {
  const int groups = dropout_groups(per_sample);
  const int64_t thread = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (thread >= int64_t(n) * groups) return;
  const int i = int(thread / groups), group = int(thread - int64_t(i) * groups);
  const bool copy = dropout_is_copy(rate);
  const float scale = dropout_scale(rate);
  const Philox4 words = copy ? Philox4{} : dropout_words(key, uint32_t(first_sample + i), uint32_t(group));
  if (vector) {  // first == 4 * thread: whole groups, back to back
    float4 v = reinterpret_cast<const float4*>(in)[thread];
    if (!copy) {
      v.x = dropout_apply(rate, scale, words.v[0], v.x);
      v.y = dropout_apply(rate, scale, words.v[1], v.y);
      v.z = dropout_apply(rate, scale, words.v[2], v.z);
      v.w = dropout_apply(rate, scale, words.v[3], v.w);
    }
    reinterpret_cast<float4*>(out)[thread] = v;
    return;
  }
  const int64_t first = int64_t(i) * per_sample + 4 * group;
  const int count = per_sample - 4 * group < 4 ? per_sample - 4 * group : 4;
  for (int k = 0; k < count; ++k)
    out[first + k] = copy ? in[first + k] : dropout_apply(rate, scale, words.v[k], in[first + k]);
}

#endif  // __CUDACC__ || HDR_SIMT_HOST

}  // namespace hdr

// Philox4x32-10 (kernels/philox.cuh): the Random123 known-answer vectors (its tests/kat_vectors),
// an independent textbook implementation compared over many counters, the counter layout of
// random_words, and the range of uniform01. CPU and GPU draw the same numbers only if all hold.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>

#include "kernels/philox.cuh"

namespace hdr {
namespace {

using Words = std::array<uint32_t, 4>;

Words to_array(Philox4 p) { return {p.v[0], p.v[1], p.v[2], p.v[3]}; }

// Written from the paper's description, independently of philox.cuh: the key schedule is
// precomputed for all ten rounds and the 32x32 -> 64 product is split by shifts/masks.
Words reference_philox(Words ctr, std::array<uint32_t, 2> key) {
  std::array<std::array<uint32_t, 2>, 10> round_keys;
  for (int r = 0; r < 10; ++r) {
    round_keys[r] = {uint32_t(key[0] + uint32_t(r) * 0x9E3779B9u), uint32_t(key[1] + uint32_t(r) * 0xBB67AE85u)};
  }
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = 0xD2511F53ull * ctr[0];
    const uint64_t p1 = 0xCD9E8D57ull * ctr[2];
    ctr = {uint32_t(p1 >> 32) ^ ctr[1] ^ round_keys[r][0], uint32_t(p1 & 0xFFFFFFFFu),
           uint32_t(p0 >> 32) ^ ctr[3] ^ round_keys[r][1], uint32_t(p0 & 0xFFFFFFFFu)};
  }
  return ctr;
}

struct KnownAnswer {
  Words counter;
  std::array<uint32_t, 2> key;
  Words expected;
};

// Random123 kat_vectors, "philox4x32 10" lines.
constexpr std::array<KnownAnswer, 3> kKnownAnswers = {{
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
}};

TEST(Philox, MatchesRandom123KnownAnswers) {
  for (const auto& kat : kKnownAnswers) {
    const Philox4 ctr{{kat.counter[0], kat.counter[1], kat.counter[2], kat.counter[3]}};
    EXPECT_EQ(to_array(philox4x32_10(ctr, kat.key[0], kat.key[1])), kat.expected);
    EXPECT_EQ(reference_philox(kat.counter, kat.key), kat.expected);
  }
}

TEST(Philox, MatchesIndependentImplementationOverManyCounters) {
  uint32_t mix = 12345;
  for (int i = 0; i < 2000; ++i) {
    Words ctr;
    for (auto& word : ctr) word = mix = mix * 1664525u + 1013904223u;  // LCG: varied, reproducible inputs
    const std::array<uint32_t, 2> key = {mix * 3u + 7u, mix ^ 0xdeadbeefu};
    const Philox4 got = philox4x32_10(Philox4{{ctr[0], ctr[1], ctr[2], ctr[3]}}, key[0], key[1]);
    ASSERT_EQ(to_array(got), reference_philox(ctr, key)) << "counter #" << i;
  }
}

TEST(Philox, RandomWordsUseDocumentedCounterLayout) {
  const RandomKey key{0x0123456789abcdefull, 7, kStreamDropout + 3};
  const Words got = to_array(random_words(key, 42, 5));
  EXPECT_EQ(got, reference_philox({42, 5, 7, kStreamDropout + 3}, {0x89abcdefu, 0x01234567u}));
  // Every field of the counter and both key halves change the words.
  EXPECT_NE(got, to_array(random_words(key, 43, 5)));
  EXPECT_NE(got, to_array(random_words(key, 42, 6)));
  EXPECT_NE(got, to_array(random_words(RandomKey{key.seed, 8, key.stream}, 42, 5)));
  EXPECT_NE(got, to_array(random_words(RandomKey{key.seed, 7, key.stream + 1}, 42, 5)));
  EXPECT_NE(got, to_array(random_words(RandomKey{key.seed ^ 1, 7, key.stream}, 42, 5)));
  EXPECT_NE(got, to_array(random_words(RandomKey{key.seed ^ (1ull << 32), 7, key.stream}, 42, 5)));
}

TEST(Philox, Uniform01CoversHalfOpenUnitInterval) {
  EXPECT_EQ(uniform01(0u), 0.0f);
  EXPECT_EQ(uniform01(0xFFu), 0.0f);  // only the top 24 bits count
  EXPECT_LT(uniform01(0xFFFFFFFFu), 1.0f);
  EXPECT_EQ(double(uniform01(0xFFFFFFFFu)), 1.0 - 1.0 / 16777216.0);
  EXPECT_EQ(uniform01(0x80000000u), 0.5f);

  // Mean and variance of many draws: 1/2 and 1/12, within a few standard errors.
  const RandomKey key{99, 0, kStreamInit};
  const int draws = 400000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < draws / 4; ++i) {
    const Philox4 words = random_words(key, uint32_t(i), 0);
    for (uint32_t word : words.v) {
      const double u = uniform01(word);
      ASSERT_GE(u, 0.0);
      ASSERT_LT(u, 1.0);
      sum += u;
      sum_sq += u * u;
    }
  }
  const double mean = sum / draws, variance = sum_sq / draws - mean * mean;
  EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12.0 / draws));
  EXPECT_NEAR(variance, 1.0 / 12.0, 0.002);
}

}  // namespace
}  // namespace hdr

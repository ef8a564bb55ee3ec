// A vector of L channel lanes for the blocked CPU kernels (kernels/cpu/blocked.h): GCC vector
// types, so a loop body over one position's channels is a handful of vector instructions (one
// zmm for 16 lanes on AVX-512, kVectorLanes = 8 per ymm on AVX2), instead of a
// `#pragma omp simd` loop the compiler may or may not vectorise (on AVX2 it did not where a
// select fed a load: the batch-norm backward ran 5-10x slower than on AVX-512). The element math
// of kernels/*.cuh is templated on its value type and takes these vectors as they are.
// These vectors never cross a library boundary, so GCC's -Wpsabi note (a 64-byte vector passed
// without AVX-512 changes the ABI) does not apply: kernels/CMakeLists.txt turns it off.
#pragma once

#include <cstdint>
#include <cstring>

namespace hdr::cpu {

// GCC applies vector_size to a dependent typedef only partly, so the types are spelled out per
// width and Lanes<L> picks them.
typedef float Float8 __attribute__((vector_size(32)));
typedef int32_t Int8 __attribute__((vector_size(32)));
typedef float Float16 __attribute__((vector_size(64)));
typedef int32_t Int16 __attribute__((vector_size(64)));
typedef uint32_t UInt8 __attribute__((vector_size(32)));
typedef uint32_t UInt16 __attribute__((vector_size(64)));
template <int L>
struct LaneTypes;
template <>
struct LaneTypes<8> {
  using F = Float8;
  using I = Int8;
  using U = UInt8;
};
template <>
struct LaneTypes<16> {
  using F = Float16;
  using I = Int16;
  using U = UInt16;
};

// The widest vector the kernels are compiled for: GCC splits a wider one piecewise, into scalars.
#if defined(__AVX512F__)
constexpr int kVectorLanes = 16;
#else
constexpr int kVectorLanes = 8;
#endif

// The vector width for a block of `block` channel lanes: the widest vector, or the block itself
// where it is narrower (8-channel blocks on an AVX-512 build).
constexpr int block_vector_lanes(int block) { return block < kVectorLanes ? block : kVectorLanes; }

template <int L>
struct Lanes {
  using F = typename LaneTypes<L>::F;  // L floats
  using I = typename LaneTypes<L>::I;  // L int32 (indices, comparison masks)
  using U = typename LaneTypes<L>::U;  // L uint32 (random words)

  static F load(const float* p) {
    F v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static I load(const int32_t* p) {
    I v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(float* p, F v) { std::memcpy(p, &v, sizeof v); }
  static void store(int32_t* p, I v) { std::memcpy(p, &v, sizeof v); }
  static F splat(float x) { return F{} + x; }
  // first, first + 1, ..., first + L - 1: consecutive indices (pixels of a row, Philox groups).
  // (A broadcast plus a constant: filling lanes one by one compiled to L inserts per call.)
  static I iota(int32_t first) { return first + steps(); }

 private:
  static constexpr I steps() {
    I v{};
    for (int l = 0; l < L; ++l) v[l] = l;
    return v;
  }
};

}  // namespace hdr::cpu

// CPU twin of kernels/augment.cuh: one random affine + bilinear sample per image, then scaling.
// Images are independent, so the batch is split across threads; inside an image each output row
// is sampled kVectorLanes pixels at a time (kernels/cpu/lanes.h), the same formulas as
// augment_pixel on vectors. The taps come from a copy of the image with one zero row and column
// more (and 3 bytes of slack), so that one 32-bit gather per row of taps reads both of a lane's
// neighbours in place of the clamped ones: where the sampler clamps (x at the last column, y at
// the last row), the weight of the far tap is exactly 0, so the result is the same to the bit.
// A row's last partial vector samples lanes past the edge (clamped, so inside the copy) and
// stores only the row's pixels. The per-image transform is drawn once, outside the rows. The
// identity configuration skips the sampler: plain scaling, no interpolation. Tiny batches stay
// on one thread.
#include "kernels/augment.cuh"

#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/cpu/lanes.h"
#include "kernels/ops.h"

namespace hdr::cpu {
namespace {

constexpr int64_t kMinParallelPixels = 1 << 13;  // about ten 28x28 images
using V = Lanes<kVectorLanes>;

// The image (h x w) with a zero column after each row and a zero row after the last: every tap
// of the sampler, and its right neighbour, is a byte of `bytes` at row * stride + column.
struct PaddedImage {
  int stride = 0;
  std::vector<uint8_t> bytes;

  void copy(const uint8_t* image, int h, int w) {
    stride = w + 1;
    bytes.assign(size_t(h + 1) * size_t(stride) + 3, 0);  // + 3: a 32-bit read at the last byte
    for (int y = 0; y < h; ++y)
      std::memcpy(bytes.data() + size_t(y) * size_t(stride), image + size_t(y) * size_t(w), size_t(w));
  }
};

// The 32-bit little-endian words at byte offsets `at`: a tap in the low byte, its right
// neighbour in the next.
V::I gather_words(const uint8_t* base, V::I at) {
#if defined(__AVX512F__)
  // The masked form with every lane set: the plain one passes _mm512_undefined_epi32(), which
  // GCC 12 reports as maybe-uninitialized once inlined (as in dropout_factors.h).
  return V::I(_mm512_mask_i32gather_epi32(_mm512_setzero_si512(), __mmask16(0xFFFF), __m512i(at), base, 1));
#elif defined(__AVX2__)
  return V::I(_mm256_i32gather_epi32(reinterpret_cast<const int*>(base), __m256i(at), 1));
#else  // a portable build (x86-64 without AVX2): lane by lane
  V::I words;
  for (int l = 0; l < kVectorLanes; ++l) {
    int32_t word;
    std::memcpy(&word, base + at[l], sizeof word);
    words[l] = word;
  }
  return words;
#endif
}

// sample_bilinear at kVectorLanes points. Where it clamps a neighbour onto the tap itself (ix at
// the last column, iy at the last row), its weight (fx or fy) is exactly 0, so taking the padded
// neighbour instead changes nothing: t + 0 * (u - t) == t for finite t and u.
V::F sample_bilinear_lanes(const PaddedImage& image, int h, int w, V::F sx, V::F sy) {
  const float right = float(w - 1), bottom_edge = float(h - 1);
  sx = sx > 0.0f ? sx : V::F{};
  sx = sx < right ? sx : V::splat(right);
  sy = sy > 0.0f ? sy : V::F{};
  sy = sy < bottom_edge ? sy : V::splat(bottom_edge);
  const V::I ix = __builtin_convertvector(sx, V::I), iy = __builtin_convertvector(sy, V::I);  // floor: >= 0
  const V::F fx = sx - __builtin_convertvector(ix, V::F), fy = sy - __builtin_convertvector(iy, V::F);
  const V::I at = iy * image.stride + ix;
  const V::I row0 = gather_words(image.bytes.data(), at), row1 = gather_words(image.bytes.data(), at + image.stride);
  const auto byte = [](V::I words, int shift) { return __builtin_convertvector((words >> shift) & 0xFF, V::F); };
  const V::F p00 = byte(row0, 0), p01 = byte(row0, 8), p10 = byte(row1, 0), p11 = byte(row1, 8);
  const V::F top = p00 + fx * (p01 - p00);
  const V::F bottom = p10 + fx * (p11 - p10);
  return top + fy * (bottom - top);
}

// Output row y of an image under transform t.
void augment_row(const AugmentParams& p, const AffineTransform& t, const PaddedImage& image, int h, int w, int y,
                 float* dst_row) {
  for (int x = 0; x < w; x += kVectorLanes) {
    const V::F xs = __builtin_convertvector(V::iota(x), V::F), ys = V::splat(float(y));
    const V::F sx = t.xx * xs + t.xy * ys + t.x0;
    const V::F sy = t.yx * xs + t.yy * ys + t.y0;
    const V::F v = (sample_bilinear_lanes(image, h, w, sx, sy) * p.scale - p.mean) * p.inv_std;
    std::memcpy(dst_row + x, &v, sizeof(float) * size_t(w - x < kVectorLanes ? w - x : kVectorLanes));
  }
}

}  // namespace

void augment(const AugmentParams& p, const RandomKey& key, const uint8_t* images, int h, int w, const int32_t* indices,
             int n, float* out) {
  const int64_t pixels = int64_t(h) * w;
  const bool identity = p.identity();
#pragma omp parallel if (n * pixels >= kMinParallelPixels)
  {
    PaddedImage padded;
#pragma omp for schedule(static)
    for (int i = 0; i < n; ++i) {
      const uint8_t* image = images + int64_t(indices[i]) * pixels;
      float* dst = out + int64_t(i) * pixels;
      if (identity) {
#pragma omp simd
        for (int64_t k = 0; k < pixels; ++k) dst[k] = augment_normalise(p, float(image[k]));
        continue;
      }
      const AffineTransform t = affine_for_image(p, key, uint32_t(indices[i]), h, w);
      padded.copy(image, h, w);
      for (int y = 0; y < h; ++y) augment_row(p, t, padded, h, w, y, dst + int64_t(y) * w);
    }
  }
}

}  // namespace hdr::cpu

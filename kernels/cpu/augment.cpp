// CPU twin of kernels/augment.cuh: one random affine + bilinear sample per image, then scaling.
// Images are independent, so the batch is split across threads; inside an image each output row
// is sampled kVectorLanes pixels at a time (kernels/cpu/lanes.h), the same formulas as
// augment_pixel on vectors, with the four taps of each lane loaded one by one (x86 has no byte
// gather); the row's last few pixels go through augment_pixel itself. The per-image transform is
// drawn once, outside the rows. The identity configuration skips the sampler: plain scaling, no
// interpolation. Tiny batches stay on one thread.
#include "kernels/augment.cuh"

#include "kernels/cpu/lanes.h"
#include "kernels/ops.h"

namespace hdr::cpu {
namespace {

constexpr int64_t kMinParallelPixels = 1 << 13;  // about ten 28x28 images
using V = Lanes<kVectorLanes>;

// sample_bilinear at kVectorLanes points.
V::F sample_bilinear_lanes(const uint8_t* image, int h, int w, V::F sx, V::F sy) {
  const float right = float(w - 1), bottom_edge = float(h - 1);
  sx = sx > 0.0f ? sx : V::F{};
  sx = sx < right ? sx : V::splat(right);
  sy = sy > 0.0f ? sy : V::F{};
  sy = sy < bottom_edge ? sy : V::splat(bottom_edge);
  const V::I ix = __builtin_convertvector(sx, V::I), iy = __builtin_convertvector(sy, V::I);  // floor: >= 0
  const V::I ix1 = ix + 1 < w ? ix + 1 : ix, iy1 = iy + 1 < h ? iy + 1 : iy;
  const V::F fx = sx - __builtin_convertvector(ix, V::F), fy = sy - __builtin_convertvector(iy, V::F);
  V::F p00, p01, p10, p11;
  for (int l = 0; l < kVectorLanes; ++l) {
    const uint8_t* row0 = image + iy[l] * w;
    const uint8_t* row1 = image + iy1[l] * w;
    p00[l] = row0[ix[l]];
    p01[l] = row0[ix1[l]];
    p10[l] = row1[ix[l]];
    p11[l] = row1[ix1[l]];
  }
  const V::F top = p00 + fx * (p01 - p00);
  const V::F bottom = p10 + fx * (p11 - p10);
  return top + fy * (bottom - top);
}

// Output row y of an image under transform t.
void augment_row(const AugmentParams& p, const AffineTransform& t, const uint8_t* image, int h, int w, int y,
                 float* dst_row) {
  int x = 0;
  for (; x + kVectorLanes <= w; x += kVectorLanes) {
    const V::F xs = __builtin_convertvector(V::iota(x), V::F), ys = V::splat(float(y));
    const V::F sx = t.xx * xs + t.xy * ys + t.x0;
    const V::F sy = t.yx * xs + t.yy * ys + t.y0;
    V::store(dst_row + x, (sample_bilinear_lanes(image, h, w, sx, sy) * p.scale - p.mean) * p.inv_std);
  }
  for (; x < w; ++x) dst_row[x] = augment_pixel(p, t, image, h, w, x, y);
}

}  // namespace

void augment(const AugmentParams& p, const RandomKey& key, const uint8_t* images, int h, int w, const int32_t* indices,
             int n, float* out) {
  const int64_t pixels = int64_t(h) * w;
  const bool identity = p.identity();
#pragma omp parallel for schedule(static) if (n * pixels >= kMinParallelPixels)
  for (int i = 0; i < n; ++i) {
    const uint8_t* image = images + int64_t(indices[i]) * pixels;
    float* dst = out + int64_t(i) * pixels;
    if (identity) {
#pragma omp simd
      for (int64_t k = 0; k < pixels; ++k) dst[k] = augment_normalise(p, float(image[k]));
      continue;
    }
    const AffineTransform t = affine_for_image(p, key, uint32_t(indices[i]), h, w);
    for (int y = 0; y < h; ++y) augment_row(p, t, image, h, w, y, dst + int64_t(y) * w);
  }
}

}  // namespace hdr::cpu

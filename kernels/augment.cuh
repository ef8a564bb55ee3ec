// Random affine augmentation, element math shared by the CUDA kernel and cpu/augment.cpp.
//
// Convention (Keras ImageDataGenerator.apply_affine_transform after its x/y fix, fed to
// scipy.ndimage.affine_transform with order=1, mode='nearest'): each OUTPUT pixel (x, y) reads
// the SOURCE point
//     src = c + R(theta) * (Z * (out - c) + t),   c = ((w - 1) / 2, (h - 1) / 2)
//     R(theta) = [cos -sin; sin cos],  Z = diag(zx, zy),  t = (tx, ty)
// in display coordinates (x right, y down). Hence, on screen:
//   - theta > 0 turns the content counter-clockwise (the output's top reads the input's right);
//   - a shift t with theta = 0, zoom 1 moves the content by -t (out(x, y) = in(x + tx, y + ty));
//   - zoom > 1 reads a larger area, so the digit looks smaller.
// The sample is bilinear; a source point outside the image is clamped to the edge, which equals
// scipy's "nearest" fill for linear interpolation.
//
// Random draws (the caller's key, normally stream kStreamAugment; counter sample = dataset row):
//   random_words(key, row, 0): v[0] -> theta, v[1] -> tx, v[2] -> ty (v[3] unused)
//   random_words(key, row, 1): v[0] -> zx, v[1] -> zy  (v[2], v[3] unused; not drawn when zoom == 0)
// with u = uniform01(word) of the named word:
//   theta = (2u - 1) * rotation_deg (degrees), tx = (2u - 1) * shift_x * w, ty = (2u - 1) * shift_y * h,
//   zx, zy = 1 + (2u - 1) * zoom.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/philox.cuh"
#include "kernels/types.h"

namespace hdr {

// The inverse map of one image: source (sx, sy) = (xx * x + xy * y + x0, yx * x + yy * y + y0).
struct AffineTransform {
  float xx = 1, xy = 0, x0 = 0;
  float yx = 0, yy = 1, y0 = 0;
};

// The transform for explicit parameters (theta in radians, shifts in pixels), per the
// convention above.
HDR_HD inline AffineTransform make_affine(float theta, float tx, float ty, float zx, float zy, int h, int w) {
  float s, c;
  sincosf(theta, &s, &c);  // one range reduction for both (a GNU extension on the host, glibc's sinf/cosf math)
  const float cx = 0.5f * float(w - 1), cy = 0.5f * float(h - 1);
  AffineTransform t;
  t.xx = c * zx;
  t.xy = -s * zy;
  t.yx = s * zx;
  t.yy = c * zy;
  // src = A * out + (c - A * c + R * t)
  t.x0 = cx - (t.xx * cx + t.xy * cy) + (c * tx - s * ty);
  t.y0 = cy - (t.yx * cx + t.yy * cy) + (s * tx + c * ty);
  return t;
}

// Symmetric uniform draw in [-range, range) from one random word.
HDR_HD inline float symmetric_uniform(uint32_t word, float range) { return (2.0f * uniform01(word) - 1.0f) * range; }

// The random transform of dataset row `sample` (draw mapping documented at the top).
HDR_HD inline AffineTransform affine_for_image(const AugmentParams& p, const RandomKey& key, uint32_t sample, int h,
                                               int w) {
  const Philox4 motion = random_words(key, sample, 0);
  const float theta = symmetric_uniform(motion.v[0], p.rotation_deg) * (3.14159265358979f / 180.0f);
  const float tx = symmetric_uniform(motion.v[1], p.shift_x * float(w));
  const float ty = symmetric_uniform(motion.v[2], p.shift_y * float(h));
  float zx = 1.0f, zy = 1.0f;
  if (p.zoom != 0.0f) {
    const Philox4 zoom = random_words(key, sample, 1);
    zx = 1.0f + symmetric_uniform(zoom.v[0], p.zoom);
    zy = 1.0f + symmetric_uniform(zoom.v[1], p.zoom);
  }
  return make_affine(theta, tx, ty, zx, zy, h, w);
}

// Bilinear sample of an h x w uint8 image at (sx, sy), the point clamped into the image first.
// At integer coordinates the result is exactly the pixel (weights 1 and 0).
HDR_HD inline float sample_bilinear(const uint8_t* image, int h, int w, float sx, float sy) {
  sx = fminf(fmaxf(sx, 0.0f), float(w - 1));
  sy = fminf(fmaxf(sy, 0.0f), float(h - 1));
  const int ix = int(sx), iy = int(sy);  // truncation is floor: both are >= 0
  const int ix1 = ix + 1 < w ? ix + 1 : ix, iy1 = iy + 1 < h ? iy + 1 : iy;
  const float fx = sx - float(ix), fy = sy - float(iy);
  const uint8_t* row0 = image + iy * w;
  const uint8_t* row1 = image + iy1 * w;
  const float top = float(row0[ix]) + fx * (float(row0[ix1]) - float(row0[ix]));
  const float bottom = float(row1[ix]) + fx * (float(row1[ix1]) - float(row1[ix]));
  return top + fy * (bottom - top);
}

// Pixel value -> network input: (value * scale - mean) * inv_std.
HDR_HD inline float augment_normalise(const AugmentParams& p, float value) {
  return (value * p.scale - p.mean) * p.inv_std;
}

// One output pixel (x, y) of an image under transform t, normalised.
HDR_HD inline float augment_pixel(const AugmentParams& p, const AffineTransform& t, const uint8_t* image, int h, int w,
                                  int x, int y) {
  const float sx = t.xx * float(x) + t.xy * float(y) + t.x0;
  const float sy = t.yx * float(x) + t.yy * float(y) + t.y0;
  return augment_normalise(p, sample_bilinear(image, h, w, sx, sy));
}

#if defined(__CUDACC__) || defined(HDR_SIMT_HOST)

// One block per batch image; its threads stride over the image's h * w output pixels, so any
// block size works and h * w need not be a multiple of it. Thread 0 draws the image's transform
// (two Philox calls and a sincos) once into shared memory instead of every pixel redrawing it;
// the identity configuration skips the draw and the sampler, as the CPU twin does.
inline dim3 augment_grid(int n) { return dim3(unsigned(n)); }

__global__ void augment_kernel(AugmentParams p, RandomKey key, const uint8_t* images, int h, int w,
                               const int32_t* indices, float* out) {
  HDR_SHARED(float, transform, 6);  // the AffineTransform, as plain floats: shared arrays take no constructor
  const int64_t pixels = int64_t(h) * w;
  const int32_t row = indices[blockIdx.x];
  const uint8_t* image = images + int64_t(row) * pixels;
  float* dst = out + int64_t(blockIdx.x) * pixels;
  if (p.identity()) {
    for (int64_t k = threadIdx.x; k < pixels; k += blockDim.x) dst[k] = augment_normalise(p, float(image[k]));
    return;
  }
  if (threadIdx.x == 0) {
    const AffineTransform t = affine_for_image(p, key, uint32_t(row), h, w);
    transform[0] = t.xx, transform[1] = t.xy, transform[2] = t.x0;
    transform[3] = t.yx, transform[4] = t.yy, transform[5] = t.y0;
  }
  __syncthreads();
  const AffineTransform t{transform[0], transform[1], transform[2], transform[3], transform[4], transform[5]};
  for (int64_t k = threadIdx.x; k < pixels; k += blockDim.x) {
    const int y = int(k / w), x = int(k - int64_t(y) * w);
    dst[k] = augment_pixel(p, t, image, h, w, x, y);
  }
}

#endif  // __CUDACC__ || HDR_SIMT_HOST

}  // namespace hdr

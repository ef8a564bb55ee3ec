// CPU twin of kernels/augment.cuh: one random affine + bilinear sample per image, then scaling.
// Images are independent, so the batch is split across threads; inside an image each output row
// is a simple loop over x (the per-image transform is drawn once, outside it). The identity
// configuration skips the sampler: plain scaling, no interpolation. Tiny batches stay on one thread.
#include "kernels/augment.cuh"

#include "kernels/ops.h"

namespace hdr::cpu {
namespace {
constexpr int64_t kMinParallelPixels = 1 << 13;  // about ten 28x28 images
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
    for (int y = 0; y < h; ++y) {
      float* dst_row = dst + int64_t(y) * w;
      for (int x = 0; x < w; ++x) dst_row[x] = augment_pixel(p, t, image, h, w, x, y);
    }
  }
}

}  // namespace hdr::cpu

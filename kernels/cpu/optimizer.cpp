// CPU twin of kernels/optimizer.cuh: one pass over every parameter segment. The step constants
// (bias-corrected Adam rate, decay factors) are computed once; each segment's loop is a plain
// element-wise update with no branches, so it vectorises (the Adam loop only when sqrtf is
// compiled without errno, -fno-math-errno). One parallel region covers all segments and each
// segment is split element-wise across its threads without a barrier between segments (a model
// has a few large kernels and many tiny bias / scale vectors); small models stay on one thread,
// where waking the pool would cost more than the update.
#include "kernels/optimizer.cuh"

#include "kernels/ops.h"

namespace hdr::cpu {
namespace {
constexpr int64_t kMinParallelElements = 1 << 15;
}  // namespace

void optimizer_update(const OptimizerParams& p, float lr, int64_t step, const ParamSegment* segments, int num_segments,
                      float* params, const float* grads, float* m, float* v) {
  const OptimizerStep s = make_optimizer_step(p, lr, step);
  const bool sgd = p.kind == OptimizerKind::kSgd;
  float* __restrict w = params;
  const float* __restrict g = grads;
  float* __restrict m1 = m;
  float* __restrict m2 = v;
  int64_t total = 0;
  for (int k = 0; k < num_segments; ++k) total += int64_t(segments[k].size);
#pragma omp parallel if (total >= kMinParallelElements)
  for (int k = 0; k < num_segments; ++k) {
    const SegmentDecay d = segment_decay(s, segments[k]);
    const int64_t begin = int64_t(segments[k].offset), end = begin + int64_t(segments[k].size);
    if (sgd) {
#pragma omp for simd schedule(static) nowait
      for (int64_t i = begin; i < end; ++i) sgd_update(s, d, g[i], w[i], m1[i]);
    } else {
#pragma omp for simd schedule(static) nowait
      for (int64_t i = begin; i < end; ++i) adam_update(s, d, g[i], w[i], m1[i], m2[i]);
    }
  }
}

void weight_average(int64_t count, float decay, const float* params, float* average) {
  const float* __restrict w = params;
  float* __restrict avg = average;
#pragma omp parallel for simd schedule(static) if (count >= kMinParallelElements)
  for (int64_t i = 0; i < count; ++i) weight_average_update(decay, w[i], avg[i]);
}

}  // namespace hdr::cpu

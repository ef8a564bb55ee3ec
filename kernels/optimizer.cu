// CUDA launcher of kernels/optimizer.cuh: one launch per 64 segments (a whole model, usually),
// batching and grid from for_each_optimizer_launch in the .cuh.
#include "kernels/cuda_check.h"
#include "kernels/ops.h"
#include "kernels/optimizer.cuh"

namespace hdr::cuda {
namespace {
constexpr int kBlock = 256;
}  // namespace

void optimizer_update(const OptimizerParams& p, float lr, int64_t step, const ParamSegment* segments, int num_segments,
                      float* params, const float* grads, float* m, float* v) {
  const OptimizerStep s = make_optimizer_step(p, lr, step);
  const bool sgd = p.kind == OptimizerKind::kSgd;
  for_each_optimizer_launch(segments, num_segments, kBlock, [&](dim3 grid, const OptimizerSegmentBatch& batch) {
    optimizer_update_kernel<<<grid, kBlock, 0, stream()>>>(s, sgd, batch, params, grads, m, v);
    HDR_CUDA_CHECK_LAUNCH(optimizer_update_kernel);
  });
}

void weight_average(int64_t count, float decay, const float* params, float* average) {
  if (count == 0) return;
  weight_average_kernel<<<weight_average_grid(count, kBlock), kBlock, 0, stream()>>>(count, decay, params, average);
  HDR_CUDA_CHECK_LAUNCH(weight_average_kernel);
}

}  // namespace hdr::cuda

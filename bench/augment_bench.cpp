// The batch's input: random affine augmentation of the uint8 images into floats, and the labels
// gathered for the batch's rows.
#include <numeric>

#include "bench/bench_data.h"
#include "kernels/ops.h"

namespace hdr::bench {
namespace {

void BM_Augment(benchmark::State& state) {
  std::vector<uint8_t> images(size_t(kBatch) * 28 * 28);
  std::iota(images.begin(), images.end(), uint8_t(0));
  std::vector<int32_t> rows(kBatch);
  std::iota(rows.begin(), rows.end(), 0);
  std::vector<float> out(images.size());
  AugmentParams p;
  p.rotation_deg = 10;
  p.shift_x = p.shift_y = p.zoom = 0.1f;
  for (auto _ : state)
    cpu::augment(p, RandomKey{1, 0, kStreamAugment}, images.data(), 28, 28, rows.data(), kBatch, out.data());
  set_bytes(state, double(images.size()) * (1 + sizeof(float)) + 4.0 * kBatch);
}
BENCHMARK(BM_Augment)->Unit(benchmark::kMicrosecond);

void BM_GatherLabels(benchmark::State& state) {
  std::vector<uint8_t> labels(60000);
  std::iota(labels.begin(), labels.end(), uint8_t(0));
  std::vector<int32_t> rows(kBatch);
  for (int i = 0; i < kBatch; ++i) rows[size_t(i)] = i * 937;
  std::vector<uint8_t> out(kBatch);
  for (auto _ : state) cpu::gather_labels(labels.data(), rows.data(), kBatch, out.data());
  set_bytes(state, 6.0 * kBatch);
}
BENCHMARK(BM_GatherLabels)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace hdr::bench

// The parameter updates over cnn_bn's 242,250 trainable values: Adam, SGD with momentum, and the
// exponential moving average of the weights ([train] ema).
#include "bench/bench_data.h"
#include "kernels/ops.h"

namespace hdr::bench {
namespace {

constexpr size_t kParams = 242250;

void BM_OptimizerUpdate(benchmark::State& state) {
  OptimizerParams p;
  p.kind = OptimizerKind(state.range(0));
  std::vector<float> w = filled(kParams), g = filled(kParams), m(kParams), v(kParams);
  const ParamSegment all{0, kParams, true, 0.0f};
  int64_t step = 0;
  for (auto _ : state) cpu::optimizer_update(p, 1e-3f, ++step, &all, 1, w.data(), g.data(), m.data(), v.data());
  // Adam/AdamW: w, m, v read and written, g read; SGD: w and the velocity, g read.
  set_bytes(state, (p.kind == OptimizerKind::kSgd ? 5.0 : 7.0) * double(kParams) * sizeof(float));
}
BENCHMARK(BM_OptimizerUpdate)
    ->Arg(int(OptimizerKind::kAdam))
    ->Arg(int(OptimizerKind::kSgd))
    ->ArgName("kind")
    ->Unit(benchmark::kMicrosecond);

void BM_WeightAverage(benchmark::State& state) {
  const std::vector<float> w = filled(kParams);
  std::vector<float> average(kParams);
  for (auto _ : state) cpu::weight_average(int64_t(kParams), 0.999f, w.data(), average.data());
  set_bytes(state, 3.0 * double(kParams) * sizeof(float));
}
BENCHMARK(BM_WeightAverage)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

// ReLU and bias for layers without batch norm (cnn_tutorial's convolutions and dense layers).
#include "bench/bench_data.h"
#include "kernels/ops.h"

namespace hdr::bench {
namespace {

// cnn_tutorial's first convolution output: 64 x 32 x 26 x 26.
constexpr int64_t kCount = int64_t(kBatch) * 32 * 26 * 26;

void BM_ReluForward(benchmark::State& state) {
  const auto x = filled(size_t(kCount));
  std::vector<float> y(static_cast<size_t>(kCount));
  for (auto _ : state) cpu::relu_forward(kCount, x.data(), y.data());
  set_bytes(state, 2.0 * double(kCount) * sizeof(float));
}
BENCHMARK(BM_ReluForward)->Unit(benchmark::kMicrosecond);

void BM_ReluBackward(benchmark::State& state) {
  const auto y = filled(size_t(kCount)), dy = filled(size_t(kCount));
  std::vector<float> dx(static_cast<size_t>(kCount));
  for (auto _ : state) cpu::relu_backward(kCount, y.data(), dy.data(), dx.data());
  set_bytes(state, 3.0 * double(kCount) * sizeof(float));
}
BENCHMARK(BM_ReluBackward)->Unit(benchmark::kMicrosecond);

// args: columns (the dense layer's units).
void BM_BiasAdd(benchmark::State& state) {
  const int cols = int(state.range(0));
  const auto bias = filled(size_t(cols));
  std::vector<float> y = filled(size_t(kBatch) * size_t(cols));
  for (auto _ : state) cpu::bias_add(kBatch, cols, bias.data(), y.data());
  set_bytes(state, 2.0 * double(y.size()) * sizeof(float));
}
BENCHMARK(BM_BiasAdd)->Arg(128)->Arg(10)->Unit(benchmark::kNanosecond);

void BM_BiasGrad(benchmark::State& state) {
  const int cols = int(state.range(0));
  const auto dy = filled(size_t(kBatch) * size_t(cols));
  std::vector<float> db(static_cast<size_t>(cols));
  for (auto _ : state) cpu::bias_grad(kBatch, cols, dy.data(), db.data());
  set_bytes(state, double(dy.size()) * sizeof(float));
}
BENCHMARK(BM_BiasGrad)->Arg(128)->Arg(10)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace hdr::bench

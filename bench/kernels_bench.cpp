// Google Benchmark of the hand-written CPU kernels at cnn_bn's training shapes (batch 64), in
// the layout the CPU backend runs them (nChw16c for 32/64-channel maps). Bytes processed count
// each tensor read or written once, so the GB/s column is effective memory throughput.
#include <benchmark/benchmark.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/cpu/nchw16c.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

constexpr int kBatch = 64;

std::vector<float> filled(size_t count) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = std::sin(0.37f * float(i));
  return v;
}

void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.SetBytesProcessed(int64_t(bytes_per_iteration * double(state.iterations())));
}

// args: channels, height (= width)
void BM_BnReluForwardTrain(benchmark::State& state) {
  BatchNormGeometry g;
  g.n = kBatch;
  g.c = int(state.range(0));
  g.spatial = int(state.range(1) * state.range(1));
  g.activation = BnActivation::kReluBefore;
  const size_t count = size_t(g.n) * g.c * g.spatial;
  const auto x = filled(count);
  std::vector<float> y(count), gamma(size_t(g.c), 1.0f), beta(size_t(g.c)), rm(size_t(g.c)), rv(size_t(g.c), 1.0f),
      mean(size_t(g.c)), inv(size_t(g.c));
  for (auto _ : state)
    cpu::nchw16c::bn_relu_forward_train(g, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), mean.data(),
                                        inv.data(), y.data());
  set_bytes(state, 3.0 * double(count) * sizeof(float));  // x read twice, y written
}
BENCHMARK(BM_BnReluForwardTrain)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

void BM_BnReluBackward(benchmark::State& state) {
  BatchNormGeometry g;
  g.n = kBatch;
  g.c = int(state.range(0));
  g.spatial = int(state.range(1) * state.range(1));
  g.activation = BnActivation::kReluBefore;
  const size_t count = size_t(g.n) * g.c * g.spatial;
  const auto x = filled(count), dy = filled(count);
  std::vector<float> dx(count), gamma(size_t(g.c), 1.0f), beta(size_t(g.c)), mean(size_t(g.c)),
      inv(size_t(g.c), 1.0f), dg(size_t(g.c)), db(size_t(g.c));
  for (auto _ : state)
    cpu::nchw16c::bn_relu_backward(g, x.data(), dy.data(), gamma.data(), beta.data(), mean.data(), inv.data(),
                                   dx.data(), dg.data(), db.data());
  set_bytes(state, 5.0 * double(count) * sizeof(float));  // x, dy read twice, dx written
}
BENCHMARK(BM_BnReluBackward)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

void BM_BnReluMaxPoolBackward(benchmark::State& state) {
  BatchNormGeometry g;
  g.n = kBatch;
  g.c = int(state.range(0));
  const int hw = int(state.range(1));
  g.spatial = hw * hw;
  g.activation = BnActivation::kReluBefore;
  const PoolGeometry p{g.n, g.c, hw, hw, 2, 2};
  const size_t count = size_t(g.n) * g.c * g.spatial, out = size_t(g.n) * g.c * p.out_h() * p.out_w();
  const auto x = filled(count), dy = filled(out);
  std::vector<int32_t> argmax(out);
  std::vector<float> y(out), dx(count), gamma(size_t(g.c), 1.0f), beta(size_t(g.c)), mean(size_t(g.c)),
      inv(size_t(g.c), 1.0f), rm(size_t(g.c)), rv(size_t(g.c), 1.0f), dg(size_t(g.c)), db(size_t(g.c));
  cpu::nchw16c::bn_relu_maxpool_forward_train(g, p, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(),
                                              mean.data(), inv.data(), y.data(), argmax.data());
  for (auto _ : state)
    cpu::nchw16c::bn_relu_maxpool_backward(g, p, x.data(), dy.data(), argmax.data(), gamma.data(), beta.data(),
                                           mean.data(), inv.data(), dx.data(), dg.data(), db.data());
  set_bytes(state, 3.0 * double(count) * sizeof(float));  // x read twice, dx written
}
BENCHMARK(BM_BnReluMaxPoolBackward)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

void BM_MaxPoolForward(benchmark::State& state) {
  const PoolGeometry g{kBatch, int(state.range(0)), int(state.range(1)), int(state.range(1)), 2, 2};
  const size_t in = size_t(g.n) * g.c * g.h * g.w, out = size_t(g.n) * g.c * g.out_h() * g.out_w();
  const auto x = filled(in);
  std::vector<float> y(out);
  std::vector<int32_t> argmax(out);
  for (auto _ : state) cpu::nchw16c::maxpool_forward(g, x.data(), y.data(), argmax.data());
  set_bytes(state, double(in + 2 * out) * sizeof(float));
}
BENCHMARK(BM_MaxPoolForward)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

void BM_DropoutForward(benchmark::State& state) {
  const int c = int(state.range(0));
  const int64_t spatial = state.range(1) * state.range(1);
  const size_t count = size_t(kBatch) * size_t(c) * size_t(spatial);
  const auto x = filled(count);
  std::vector<float> y(count);
  for (auto _ : state)
    cpu::nchw16c::dropout_forward(0.25f, RandomKey{1, 0, kStreamDropout}, 0, kBatch, c, spatial, x.data(), y.data());
  set_bytes(state, 2.0 * double(count) * sizeof(float));
}
BENCHMARK(BM_DropoutForward)->Args({32, 13})->Args({64, 5})->Unit(benchmark::kMicrosecond);

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
  set_bytes(state, double(images.size()) * (1 + sizeof(float)));
}
BENCHMARK(BM_Augment)->Unit(benchmark::kMicrosecond);

void BM_AdamUpdate(benchmark::State& state) {
  const size_t count = 242250;  // cnn_bn's trainable parameters
  std::vector<float> w = filled(count), g = filled(count), m(count), v(count);
  const ParamSegment all{0, count, true, 0.0f};
  int64_t step = 0;
  for (auto _ : state) cpu::optimizer_update(OptimizerParams{}, 1e-3f, ++step, &all, 1, w.data(), g.data(), m.data(), v.data());
  set_bytes(state, 7.0 * double(count) * sizeof(float));  // w, m, v read and written, g read
}
BENCHMARK(BM_AdamUpdate)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr

BENCHMARK_MAIN();

// 2x2 max pooling (the unfused path: cnn_tutorial and the MLP-free CNNs without batch norm), in
// blocked (nChw8c or nChw16c: B) for 32/64 channels and plain NCHW (B = 0) for 8.
#include "bench/bench_data.h"
#include "kernels/cpu/blocked.h"
#include "kernels/ops.h"

namespace hdr::bench {
namespace {

struct PoolTensors {
  explicit PoolTensors(const PoolGeometry& g)
      : in(size_t(g.n) * g.c * g.h * g.w),
        out(size_t(g.n) * g.c * g.out_h() * g.out_w()),
        x(filled(in)),
        dy(filled(out)),
        y(out),
        dx(in),
        argmax(out) {}
  size_t in, out;
  std::vector<float> x, dy, y, dx;
  std::vector<int32_t> argmax;
  double forward_bytes() const { return double(in + 2 * out) * sizeof(float); }
  double backward_bytes() const { return double(in + 2 * out) * sizeof(float); }
};

PoolGeometry geometry(const benchmark::State& state) {
  return PoolGeometry{kBatch, int(state.range(0)), int(state.range(1)), int(state.range(1)), 2, 2};
}

template <int B>
void BM_MaxPoolForward(benchmark::State& state) {
  const PoolGeometry g = geometry(state);
  PoolTensors t(g);
  for (auto _ : state) {
    if constexpr (B > 0)
      cpu::blocked::MaxPool<B>::forward(g, t.x.data(), t.y.data(), t.argmax.data());
    else
      cpu::maxpool_forward(g, t.x.data(), t.y.data(), t.argmax.data());
  }
  set_bytes(state, t.forward_bytes());
}
BENCHMARK(BM_MaxPoolForward<8>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaxPoolForward<16>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaxPoolForward<0>)->Args({8, 26})->Unit(benchmark::kMicrosecond);

template <int B>
void BM_MaxPoolBackward(benchmark::State& state) {
  const PoolGeometry g = geometry(state);
  PoolTensors t(g);
  if constexpr (B > 0)
    cpu::blocked::MaxPool<B>::forward(g, t.x.data(), t.y.data(), t.argmax.data());
  else
    cpu::maxpool_forward(g, t.x.data(), t.y.data(), t.argmax.data());
  for (auto _ : state) {
    if constexpr (B > 0)
      cpu::blocked::MaxPool<B>::backward(g, t.dy.data(), t.argmax.data(), t.dx.data());
    else
      cpu::maxpool_backward(g, t.dy.data(), t.argmax.data(), t.dx.data());
  }
  set_bytes(state, t.backward_bytes());
}
BENCHMARK(BM_MaxPoolBackward<8>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaxPoolBackward<16>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MaxPoolBackward<0>)->Args({8, 26})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

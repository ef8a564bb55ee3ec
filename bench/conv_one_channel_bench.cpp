// The hand-written first convolution (one input channel, nChw8c output: what AVX2 machines run,
// kernels/cpu/conv_one_channel_blocked.cpp), forward and weight gradient, at cnn_bn's 3x3 x 32
// and the speedrun's 5x5 x 16 on 28x28 images. Counters: GFLOP/s (2 per multiply-add).
#include "bench/bench_data.h"
#include "kernels/cpu/blocked.h"

namespace hdr::bench {
namespace {

// args: filters, kernel size.
ConvGeometry first_layer(const benchmark::State& state) {
  ConvGeometry g;
  g.n = kBatch;
  g.c = 1;
  g.h = g.w = 28;
  g.k = int(state.range(0));
  g.kh = g.kw = int(state.range(1));
  return g;
}

void set_flops(benchmark::State& state, const ConvGeometry& g) {
  const double flops = 2.0 * g.n * g.k * g.out_h() * g.out_w() * g.kh * g.kw;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <bool kForward>
void BM_OneChannelConv(benchmark::State& state) {
  const ConvGeometry g = first_layer(state);
  const size_t out = size_t(g.n) * g.k * g.out_h() * g.out_w();
  const auto x = filled(size_t(g.n) * g.h * g.w), w = filled(size_t(g.k) * g.kh * g.kw), dy = filled(out);
  std::vector<float> y(out), dw(w.size()), bias(size_t(g.k));
  for (auto _ : state) {
    const bool ran = kForward ? cpu::blocked::OneChannelConv<8>::forward(g, x.data(), w.data(), bias.data(), y.data())
                              : cpu::blocked::OneChannelConv<8>::backward_weights(g, x.data(), dy.data(), dw.data(),
                                                                                  bias.data());
    if (!ran) state.SkipWithError("geometry refused");
  }
  set_flops(state, g);
}
BENCHMARK(BM_OneChannelConv<true>)->Args({32, 3})->Args({16, 5})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OneChannelConv<false>)->Args({32, 3})->Args({16, 5})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

// The hand-written first convolution (one input channel, nChw8c output: what AVX2 machines run,
// kernels/cpu/conv_one_channel_blocked.cpp), forward and weight gradient, at cnn_bn's 3x3 x 32
// and the speedrun's 5x5 x 16 on 28x28 images. Counters: GFLOP/s (2 per multiply-add). Then
// cnn_bn's first block backward from cold caches: batch norm + pooling's backward then the
// weight gradient, against the two in one (backward_weights_through); and its inference forward
// at batch 1000 (`hdr bench infer`'s), the convolution then batch norm + pooling against the two
// in one (forward_through).
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

// cnn_bn's first block on `images` images: conv1, then bn1 + ReLU + pool1.
struct FirstBlock {
  ConvGeometry g;
  BatchNormGeometry bn;
  PoolGeometry p;
  size_t out, pooled;  // values of the convolution's output and of the pooled output
  explicit FirstBlock(int images) {
    g.n = images;
    g.c = 1;
    g.h = g.w = 28;
    g.k = 32;
    g.kh = g.kw = 3;
    const int side = g.out_h();
    bn.n = g.n;
    bn.c = g.k;
    bn.spatial = side * side;
    bn.activation = BnActivation::kReluBefore;
    p = {g.n, g.k, side, side, 2, 2};
    out = size_t(g.n) * g.k * side * side;
    pooled = out / 4;
  }
};

// arg: 1 for backward_weights_through, 0 for its two parts through the stored gradient.
void BM_FirstBlockBackwardCold(benchmark::State& state) {
  const FirstBlock block(kBatch);
  const auto& [g, bn, p, out, pooled] = block;
  const auto image = filled(size_t(g.n) * g.h * g.w), x = filled(out), dy = filled(pooled), gamma = filled(32),
             beta = filled(32);
  std::vector<float> y(pooled), rm(32), rv(32, 1.0f), mean(32), inv(32), dx(out), dw(32 * 9), db(32), dg(32), dbeta(32);
  std::vector<int32_t> argmax(pooled);
  using BatchNorm = cpu::blocked::BatchNorm<8>;
  using Conv = cpu::blocked::OneChannelConv<8>;
  BatchNorm::maxpool_forward_train(bn, p, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), mean.data(),
                                   inv.data(), y.data(), argmax.data());
  const cpu::blocked::PooledBnBackward in{bn,           p,           x.data(),    dy.data(), argmax.data(),
                                          gamma.data(), beta.data(), mean.data(), inv.data()};
  CacheEvictor caches;
  for (auto _ : state) {
    caches.evict(state);
    if (state.range(0)) {
      Conv::backward_weights_through(g, image.data(), in, dw.data(), db.data(), dg.data(), dbeta.data());
    } else {
      BatchNorm::maxpool_backward(bn, p, x.data(), dy.data(), argmax.data(), gamma.data(), beta.data(), mean.data(),
                                  inv.data(), dx.data(), dg.data(), dbeta.data());
      Conv::backward_weights(g, image.data(), dx.data(), dw.data(), db.data());
    }
  }
}
BENCHMARK(BM_FirstBlockBackwardCold)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// arg: 1 for forward_through, 0 for its two parts through the stored convolution output.
void BM_FirstBlockForwardInfer(benchmark::State& state) {
  constexpr int kImages = 1000;
  const FirstBlock block(kImages);
  const auto& [g, bn, p, out, pooled] = block;
  const auto image = filled(size_t(g.n) * g.h * g.w), w = filled(32 * 9), bias = filled(32), gamma = filled(32),
             beta = filled(32), mean = filled(32);
  std::vector<float> x(out), y(pooled), var(32, 1.0f);
  std::vector<int32_t> argmax(pooled);
  using BatchNorm = cpu::blocked::BatchNorm<8>;
  using Conv = cpu::blocked::OneChannelConv<8>;
  const cpu::blocked::PooledBnInfer in{bn,          p,          gamma.data(), beta.data(),
                                       mean.data(), var.data(), y.data(),     argmax.data()};
  for (auto _ : state) {
    if (state.range(0)) {
      Conv::forward_through(g, image.data(), w.data(), bias.data(), in);
    } else {
      Conv::forward(g, image.data(), w.data(), bias.data(), x.data());
      BatchNorm::maxpool_forward_infer(bn, p, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), y.data(),
                                       argmax.data());
    }
  }
  state.counters["images/s"] = benchmark::Counter(kImages, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_FirstBlockForwardInfer)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

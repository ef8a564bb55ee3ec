// Batch norm + ReLU and the fused conv block (batch norm + ReLU + 2x2 max pooling) at cnn_bn's
// shapes: blocked for the conv blocks' 32 and 64 channels (nChw8c and nChw16c: the CPU backend
// runs the one of its machine's vector width, kernels/cpu/blocked.h), plain NCHW for the dense
// layer's 128 x 1.
#include "bench/bench_data.h"
#include "kernels/cpu/blocked.h"
#include "kernels/ops.h"

namespace hdr::bench {
namespace {

struct BnTensors {
  explicit BnTensors(const BatchNormGeometry& g)
      : x(filled(values(g))),
        dy(filled(values(g))),
        y(values(g)),
        dx(values(g)),
        gamma(size_t(g.c), 1.0f),
        beta(size_t(g.c)),
        mean(size_t(g.c)),
        inv(size_t(g.c), 1.0f),
        rm(size_t(g.c)),
        rv(size_t(g.c), 1.0f),
        dg(size_t(g.c)),
        db(size_t(g.c)) {}
  std::vector<float> x, dy, y, dx, gamma, beta, mean, inv, rm, rv, dg, db;
};

template <int B>
void BM_BnReluForwardTrain(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::blocked::BatchNorm<B>::forward_train(g, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(), t.rv.data(),
                                              t.mean.data(), t.inv.data(), t.y.data());
  set_bytes(state, 2.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnReluForwardTrain<8>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BnReluForwardTrain<16>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

template <int B>
void BM_BnReluForwardInfer(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::blocked::BatchNorm<B>::forward_infer(g, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(), t.rv.data(),
                                              t.y.data());
  set_bytes(state, 2.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnReluForwardInfer<8>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BnReluForwardInfer<16>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

template <int B>
void BM_BnReluBackward(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::blocked::BatchNorm<B>::backward(g, t.x.data(), t.dy.data(), t.gamma.data(), t.beta.data(), t.mean.data(),
                                         t.inv.data(), t.dx.data(), t.dg.data(), t.db.data());
  set_bytes(state, 3.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnReluBackward<8>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BnReluBackward<16>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

// Synchronised batch norm's extra pass over dx (engine/nn/sync_batch_norm.h).
template <int B>
void BM_BnInputGradAdjust(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::blocked::BatchNorm<B>::input_grad_adjust(g, t.x.data(), t.mean.data(), t.gamma.data(), t.beta.data(),
                                                  t.dx.data());
  set_bytes(state, 3.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnInputGradAdjust<8>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BnInputGradAdjust<16>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

// The dense layer's batch norm (128 channels, one position): plain NCHW.
void BM_BnReluDenseForwardTrain(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::bn_relu_forward_train(g, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(), t.rv.data(), t.mean.data(),
                               t.inv.data(), t.y.data());
  set_bytes(state, 2.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnReluDenseForwardTrain)->Args({128, 1})->Unit(benchmark::kMicrosecond);

void BM_BnReluDenseBackward(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::bn_relu_backward(g, t.x.data(), t.dy.data(), t.gamma.data(), t.beta.data(), t.mean.data(), t.inv.data(),
                          t.dx.data(), t.dg.data(), t.db.data());
  set_bytes(state, 3.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnReluDenseBackward)->Args({128, 1})->Unit(benchmark::kMicrosecond);

// The conv block fused: x in, the pooled y and its argmax out (and back).
struct PooledTensors : BnTensors {
  PooledTensors(const BatchNormGeometry& g, const PoolGeometry& p)
      : BnTensors(g),
        pooled(size_t(p.n) * p.c * p.out_h() * p.out_w()),
        py(pooled),
        pdy(filled(pooled)),
        argmax(pooled) {}
  size_t pooled;
  std::vector<float> py, pdy;
  std::vector<int32_t> argmax;
};

PoolGeometry pool_of(const BatchNormGeometry& g, const benchmark::State& state) {
  const int hw = int(state.range(1));
  return PoolGeometry{g.n, g.c, hw, hw, 2, 2};
}

template <int B>
void BM_BnReluMaxPoolForwardTrain(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  const PoolGeometry p = pool_of(g, state);
  PooledTensors t(g, p);
  for (auto _ : state)
    cpu::blocked::BatchNorm<B>::maxpool_forward_train(g, p, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(),
                                                      t.rv.data(), t.mean.data(), t.inv.data(), t.py.data(),
                                                      t.argmax.data());
  set_bytes(state, double(values(g)) * sizeof(float) + 2.0 * double(t.pooled) * sizeof(float));
}
BENCHMARK(BM_BnReluMaxPoolForwardTrain<8>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BnReluMaxPoolForwardTrain<16>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

template <int B>
void BM_BnReluMaxPoolForwardInfer(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  const PoolGeometry p = pool_of(g, state);
  PooledTensors t(g, p);
  for (auto _ : state)
    cpu::blocked::BatchNorm<B>::maxpool_forward_infer(g, p, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(),
                                                      t.rv.data(), t.py.data(), t.argmax.data());
  set_bytes(state, double(values(g)) * sizeof(float) + 2.0 * double(t.pooled) * sizeof(float));
}
BENCHMARK(BM_BnReluMaxPoolForwardInfer<8>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BnReluMaxPoolForwardInfer<16>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

template <int B>
void BM_BnReluMaxPoolBackward(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  const PoolGeometry p = pool_of(g, state);
  PooledTensors t(g, p);
  cpu::blocked::BatchNorm<B>::maxpool_forward_train(g, p, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(),
                                                    t.rv.data(), t.mean.data(), t.inv.data(), t.py.data(),
                                                    t.argmax.data());
  for (auto _ : state)
    cpu::blocked::BatchNorm<B>::maxpool_backward(g, p, t.x.data(), t.pdy.data(), t.argmax.data(), t.gamma.data(),
                                                 t.beta.data(), t.mean.data(), t.inv.data(), t.dx.data(), t.dg.data(),
                                                 t.db.data());
  set_bytes(state, 2.0 * double(values(g)) * sizeof(float) + 2.0 * double(t.pooled) * sizeof(float));
}
BENCHMARK(BM_BnReluMaxPoolBackward<8>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BnReluMaxPoolBackward<16>)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

// The same from cold caches, as in a training step (the kernel prefetches x for this case).
template <int B>
void BM_BnReluMaxPoolBackwardCold(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  const PoolGeometry p = pool_of(g, state);
  PooledTensors t(g, p);
  CacheEvictor caches;
  cpu::blocked::BatchNorm<B>::maxpool_forward_train(g, p, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(),
                                                    t.rv.data(), t.mean.data(), t.inv.data(), t.py.data(),
                                                    t.argmax.data());
  for (auto _ : state) {
    caches.evict(state);
    cpu::blocked::BatchNorm<B>::maxpool_backward(g, p, t.x.data(), t.pdy.data(), t.argmax.data(), t.gamma.data(),
                                                 t.beta.data(), t.mean.data(), t.inv.data(), t.dx.data(), t.dg.data(),
                                                 t.db.data());
  }
  set_bytes(state, 2.0 * double(values(g)) * sizeof(float) + 2.0 * double(t.pooled) * sizeof(float));
}
BENCHMARK(BM_BnReluMaxPoolBackwardCold<8>)->Args({32, 26})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BnReluMaxPoolBackwardCold<16>)->Args({32, 26})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

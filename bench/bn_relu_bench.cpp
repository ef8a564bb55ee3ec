// Batch norm + ReLU and the fused conv block (batch norm + ReLU + 2x2 max pooling) at cnn_bn's
// shapes: nChw16c for the conv blocks' 32 and 64 channels (what the CPU backend runs), plain
// NCHW for the dense layer's 128 x 1.
#include "bench/bench_data.h"
#include "kernels/cpu/nchw16c.h"
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

void BM_BnReluForwardTrain(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::nchw16c::bn_relu_forward_train(g, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(), t.rv.data(),
                                        t.mean.data(), t.inv.data(), t.y.data());
  set_bytes(state, 2.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnReluForwardTrain)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

void BM_BnReluForwardInfer(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::nchw16c::bn_relu_forward_infer(g, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(), t.rv.data(),
                                        t.y.data());
  set_bytes(state, 2.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnReluForwardInfer)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

void BM_BnReluBackward(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::nchw16c::bn_relu_backward(g, t.x.data(), t.dy.data(), t.gamma.data(), t.beta.data(), t.mean.data(),
                                   t.inv.data(), t.dx.data(), t.dg.data(), t.db.data());
  set_bytes(state, 3.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnReluBackward)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

// Synchronised batch norm's extra pass over dx (engine/nn/sync_batch_norm.h).
void BM_BnInputGradAdjust(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  BnTensors t(g);
  for (auto _ : state)
    cpu::nchw16c::bn_input_grad_adjust(g, t.x.data(), t.mean.data(), t.gamma.data(), t.beta.data(), t.dx.data());
  set_bytes(state, 3.0 * double(values(g)) * sizeof(float));
}
BENCHMARK(BM_BnInputGradAdjust)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

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

void BM_BnReluMaxPoolForwardTrain(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  const PoolGeometry p = pool_of(g, state);
  PooledTensors t(g, p);
  for (auto _ : state)
    cpu::nchw16c::bn_relu_maxpool_forward_train(g, p, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(),
                                                t.rv.data(), t.mean.data(), t.inv.data(), t.py.data(), t.argmax.data());
  set_bytes(state, double(values(g)) * sizeof(float) + 2.0 * double(t.pooled) * sizeof(float));
}
BENCHMARK(BM_BnReluMaxPoolForwardTrain)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

void BM_BnReluMaxPoolForwardInfer(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  const PoolGeometry p = pool_of(g, state);
  PooledTensors t(g, p);
  for (auto _ : state)
    cpu::nchw16c::bn_relu_maxpool_forward_infer(g, p, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(),
                                                t.rv.data(), t.py.data(), t.argmax.data());
  set_bytes(state, double(values(g)) * sizeof(float) + 2.0 * double(t.pooled) * sizeof(float));
}
BENCHMARK(BM_BnReluMaxPoolForwardInfer)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

void BM_BnReluMaxPoolBackward(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  const PoolGeometry p = pool_of(g, state);
  PooledTensors t(g, p);
  cpu::nchw16c::bn_relu_maxpool_forward_train(g, p, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(), t.rv.data(),
                                              t.mean.data(), t.inv.data(), t.py.data(), t.argmax.data());
  for (auto _ : state)
    cpu::nchw16c::bn_relu_maxpool_backward(g, p, t.x.data(), t.pdy.data(), t.argmax.data(), t.gamma.data(),
                                           t.beta.data(), t.mean.data(), t.inv.data(), t.dx.data(), t.dg.data(),
                                           t.db.data());
  set_bytes(state, 2.0 * double(values(g)) * sizeof(float) + 2.0 * double(t.pooled) * sizeof(float));
}
BENCHMARK(BM_BnReluMaxPoolBackward)->Args({32, 26})->Args({64, 11})->Unit(benchmark::kMicrosecond);

// The same from cold caches, as in a training step (the kernel prefetches x for this case).
void BM_BnReluMaxPoolBackwardCold(benchmark::State& state) {
  const BatchNormGeometry g = bn_geometry(state);
  const PoolGeometry p = pool_of(g, state);
  PooledTensors t(g, p);
  CacheEvictor caches;
  cpu::nchw16c::bn_relu_maxpool_forward_train(g, p, t.x.data(), t.gamma.data(), t.beta.data(), t.rm.data(), t.rv.data(),
                                              t.mean.data(), t.inv.data(), t.py.data(), t.argmax.data());
  for (auto _ : state) {
    caches.evict(state);
    cpu::nchw16c::bn_relu_maxpool_backward(g, p, t.x.data(), t.pdy.data(), t.argmax.data(), t.gamma.data(),
                                           t.beta.data(), t.mean.data(), t.inv.data(), t.dx.data(), t.dg.data(),
                                           t.db.data());
  }
  set_bytes(state, 2.0 * double(values(g)) * sizeof(float) + 2.0 * double(t.pooled) * sizeof(float));
}
BENCHMARK(BM_BnReluMaxPoolBackwardCold)->Args({32, 26})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

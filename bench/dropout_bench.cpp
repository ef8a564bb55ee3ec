// Dropout (rate 0.25, a Philox mask per value, kept as bits for backward), blocked by B channels (nChw8c or nChw16c)
// after cnn_bn's conv blocks and plain NCHW after its dense layer.
#include "bench/bench_data.h"
#include "kernels/cpu/blocked.h"
#include "kernels/dropout.cuh"
#include "kernels/ops.h"

namespace hdr::bench {
namespace {

constexpr float kRate = 0.25f;

// args: channels, height (= width); height 1 is the dense layer's plain rows. Backward reads the
// keep bits its forward wrote (any layout).
template <bool kForward, int B>
void BM_Dropout(benchmark::State& state) {
  const int c = int(state.range(0));
  const int64_t spatial = state.range(1) * state.range(1);
  const size_t count = size_t(kBatch) * size_t(c) * size_t(spatial);
  const auto x = filled(count);
  std::vector<float> y(count);
  std::vector<uint8_t> bits(size_t(dropout_keep_bytes(kBatch, c * spatial)));
  const RandomKey key{1, 0, kStreamDropout};
  const auto forward = [&] {
    (spatial == 1 ? cpu::dropout_forward : cpu::blocked::Dropout<B>::forward)(kRate, key, 0, kBatch, c, spatial,
                                                                              x.data(), y.data(), bits.data());
  };
  forward();
  for (auto _ : state) {
    if (kForward)
      forward();
    else
      cpu::dropout_backward(kRate, key, 0, kBatch, c, spatial, bits.data(), x.data(), y.data());
  }
  set_bytes(state, (2.0 * sizeof(float) + 1.0 / 8) * double(count));
}
BENCHMARK(BM_Dropout<true, 8>)->Args({32, 13})->Args({64, 5})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Dropout<false, 8>)->Args({32, 13})->Args({64, 5})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Dropout<true, 16>)->Args({32, 13})->Args({64, 5})->Args({128, 1})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Dropout<false, 16>)->Args({32, 13})->Args({64, 5})->Args({128, 1})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

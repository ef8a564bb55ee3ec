// Dropout (rate 0.25, a Philox mask per value), in nChw16c after cnn_bn's conv blocks and plain
// NCHW after its dense layer.
#include "bench/bench_data.h"
#include "kernels/cpu/nchw16c.h"
#include "kernels/ops.h"

namespace hdr::bench {
namespace {

constexpr float kRate = 0.25f;

// args: channels, height (= width); height 1 is the dense layer's plain rows.
template <bool kForward>
void BM_Dropout(benchmark::State& state) {
  const int c = int(state.range(0));
  const int64_t spatial = state.range(1) * state.range(1);
  const size_t count = size_t(kBatch) * size_t(c) * size_t(spatial);
  const auto x = filled(count);
  std::vector<float> y(count);
  const RandomKey key{1, 0, kStreamDropout};
  for (auto _ : state) {
    if (spatial == 1)
      (kForward ? cpu::dropout_forward : cpu::dropout_backward)(kRate, key, 0, kBatch, c, spatial, x.data(), y.data());
    else
      (kForward ? cpu::nchw16c::dropout_forward : cpu::nchw16c::dropout_backward)(kRate, key, 0, kBatch, c, spatial,
                                                                                  x.data(), y.data());
  }
  set_bytes(state, 2.0 * double(count) * sizeof(float));
}
BENCHMARK(BM_Dropout<true>)->Args({32, 13})->Args({64, 5})->Args({128, 1})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Dropout<false>)->Args({32, 13})->Args({64, 5})->Args({128, 1})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

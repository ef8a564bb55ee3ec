// The nChw16c layout changes at the edge of the convolutions (flatten, forward and backward):
// cnn_bn's 64 x 128 x 3 x 3 before its dense layer, and a conv block's 64 x 32 x 13 x 13.
#include "bench/bench_data.h"
#include "kernels/cpu/nchw16c.h"

namespace hdr::bench {
namespace {

template <bool kToPlain>
void BM_Layout(benchmark::State& state) {
  const int c = int(state.range(0));
  const int64_t spatial = state.range(1) * state.range(1);
  const size_t count = size_t(kBatch) * size_t(c) * size_t(spatial);
  const auto in = filled(count);
  std::vector<float> out(count);
  for (auto _ : state) {
    if constexpr (kToPlain)
      cpu::nchw16c::to_nchw(kBatch, c, spatial, in.data(), out.data());
    else
      cpu::nchw16c::from_nchw(kBatch, c, spatial, in.data(), out.data());
  }
  set_bytes(state, 2.0 * double(count) * sizeof(float));
}
BENCHMARK(BM_Layout<true>)->Args({128, 3})->Args({32, 13})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Layout<false>)->Args({128, 3})->Args({32, 13})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

// The blocked layout changes (nChw8c and nChw16c: B) at the edge of the convolutions (flatten, forward and backward):
// cnn_bn's 64 x 128 x 3 x 3 before its dense layer, and a conv block's 64 x 32 x 13 x 13.
#include "bench/bench_data.h"
#include "kernels/cpu/blocked.h"

namespace hdr::bench {
namespace {

template <bool kToPlain, int B>
void BM_Layout(benchmark::State& state) {
  const int c = int(state.range(0));
  const int64_t spatial = state.range(1) * state.range(1);
  const size_t count = size_t(kBatch) * size_t(c) * size_t(spatial);
  const auto in = filled(count);
  std::vector<float> out(count);
  for (auto _ : state) {
    if constexpr (kToPlain)
      cpu::blocked::Reorder<B>::to_nchw(kBatch, c, spatial, in.data(), out.data());
    else
      cpu::blocked::Reorder<B>::from_nchw(kBatch, c, spatial, in.data(), out.data());
  }
  set_bytes(state, 2.0 * double(count) * sizeof(float));
}
BENCHMARK(BM_Layout<true, 8>)->Args({128, 3})->Args({32, 13})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Layout<false, 8>)->Args({128, 3})->Args({32, 13})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Layout<true, 16>)->Args({128, 3})->Args({32, 13})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Layout<false, 16>)->Args({128, 3})->Args({32, 13})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hdr::bench

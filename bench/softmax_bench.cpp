// The loss and the evaluation's per-batch work over 10 classes: softmax cross-entropy with its
// gradient (training), softmax (prediction) and the confusion counts (evaluation, batch 256).
#include "bench/bench_data.h"
#include "kernels/ops.h"

namespace hdr::bench {
namespace {

constexpr int kClasses = 10;

std::vector<uint8_t> labels(int n) {
  std::vector<uint8_t> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out[size_t(i)] = uint8_t(i % kClasses);
  return out;
}

void BM_SoftmaxXent(benchmark::State& state) {
  const int n = int(state.range(0));
  const auto logits = filled(size_t(n) * kClasses);
  const auto y = labels(n);
  std::vector<float> dlogits(logits.size());
  double metrics[2] = {0, 0};
  for (auto _ : state) cpu::softmax_xent(n, kClasses, logits.data(), y.data(), 0.1f, dlogits.data(), metrics);
  set_bytes(state, 2.0 * double(logits.size()) * sizeof(float) + n);
}
BENCHMARK(BM_SoftmaxXent)->Arg(kBatch)->Unit(benchmark::kNanosecond);

void BM_Softmax(benchmark::State& state) {
  const int n = int(state.range(0));
  const auto logits = filled(size_t(n) * kClasses);
  std::vector<float> probs(logits.size());
  for (auto _ : state) cpu::softmax(n, kClasses, logits.data(), probs.data());
  set_bytes(state, 2.0 * double(logits.size()) * sizeof(float));
}
BENCHMARK(BM_Softmax)->Arg(256)->Unit(benchmark::kNanosecond);

void BM_EvaluateBatch(benchmark::State& state) {
  const int n = int(state.range(0));
  const auto logits = filled(size_t(n) * kClasses);
  const auto y = labels(n);
  std::vector<int64_t> confusion(kClasses * kClasses);
  double metrics[2] = {0, 0};
  for (auto _ : state) cpu::evaluate_batch(n, kClasses, logits.data(), y.data(), confusion.data(), metrics);
  set_bytes(state, double(logits.size()) * sizeof(float) + n);
}
BENCHMARK(BM_EvaluateBatch)->Arg(256)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace hdr::bench

// What the Google Benchmark files of bench/ share: cnn_bn's batch, inputs that are not all equal,
// and the bytes an op moves (each tensor read or written once, as engine/profile/op_cost.h counts them,
// so the GB/s column is an effective rate).
#pragma once

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/types.h"

namespace hdr::bench {

constexpr int kBatch = 64;

inline std::vector<float> filled(size_t count) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = std::sin(0.37f * float(i));
  return v;
}

inline void set_bytes(benchmark::State& state, double bytes_per_iteration) {
  state.SetBytesProcessed(int64_t(bytes_per_iteration * double(state.iterations())));
}

// A batch-norm geometry from the benchmark's arguments: channels, height (= width).
inline BatchNormGeometry bn_geometry(const benchmark::State& state) {
  BatchNormGeometry g;
  g.n = kBatch;
  g.c = int(state.range(0));
  g.spatial = int(state.range(1) * state.range(1));
  g.activation = BnActivation::kReluBefore;
  return g;
}

// Evicts the caches (writes 128 MiB, four times the L3 of the project's machines) outside the
// timed region: the state of an op's inputs in a training step, where the tensors of the
// forward pass left the caches long before their backward reads them.
class CacheEvictor {
 public:
  void evict(benchmark::State& state) {
    state.PauseTiming();
    for (size_t i = 0; i < buffer_.size(); i += 16) buffer_[i] += 1.0f;  // one write per 64-byte line
    state.ResumeTiming();
  }

 private:
  std::vector<float> buffer_ = std::vector<float>(size_t(32) << 20);
};

inline size_t values(const BatchNormGeometry& g) { return size_t(g.n) * size_t(g.c) * size_t(g.spatial); }

}  // namespace hdr::bench

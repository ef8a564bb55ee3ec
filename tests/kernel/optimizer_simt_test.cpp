// The optimizer kernel (kernels/optimizer.cuh) through the CUDA emulation: every kind over several
// steps on odd-sized segments with a gap, at several block sizes, against the CPU twin and a
// double-precision loop of the Keras formulas; more segments than one launch holds (the batching
// of for_each_optimizer_launch); and a grid smaller than a segment (the grid-stride loop).
// Tolerance: the default atol 1e-5 / rtol 1e-4; float vs double over four steps, and the twin may
// contract to FMA where the test's build of the kernel does not.
#include "kernels/simt_host.h"
// simt_host.h first: it enables the __global__ kernels of the .cuh.
#include "kernels/optimizer.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/verify/compare.h"
#include "kernels/ops.h"
#include "tests/kernel/test_values.h"

namespace hdr {
namespace {

using test::make_values;

struct State {
  std::vector<float> w, m, v;
};

State initial_state(size_t count) {
  return State{make_values(count, 0.1f, 1.0f, 1, true), std::vector<float>(count, 0.0f),
               std::vector<float>(count, 0.0f)};
}

std::vector<float> gradients(size_t count, int64_t step) {
  return make_values(count, 0.01f, 1.0f, uint32_t(100 + step), true);
}

// Odd sizes, decay and L2 on and off, elements 42..44 in no segment.
const std::vector<ParamSegment> kSegments = {{0, 37, true, 0.001f},
                                             {37, 5, false, 0.0f},
                                             {45, 129, true, 0.0005f},
                                             {174, 3, false, 0.0f},
                                             {177, 668, true, 0.0f}};
constexpr size_t kParams = 845;

// The Keras formulas of kernels/optimizer.cuh, in double.
void reference_step(const OptimizerParams& p, double lr, int64_t t, const std::vector<ParamSegment>& segments,
                    const std::vector<float>& grads, std::vector<double>& w, std::vector<double>& m,
                    std::vector<double>& v) {
  for (const ParamSegment& seg : segments) {
    for (size_t i = seg.offset; i < seg.offset + seg.size; ++i) {
      const double g = grads[i] + 2.0 * seg.l2 * w[i];
      const double decay = seg.decay ? 1.0 - lr * p.weight_decay : 1.0;
      if (p.kind == OptimizerKind::kSgd) {
        m[i] = p.momentum * m[i] - lr * g;
        w[i] = w[i] * decay + (p.nesterov ? p.momentum * m[i] - lr * g : m[i]);
      } else {
        m[i] = p.beta1 * m[i] + (1 - p.beta1) * g;
        v[i] = p.beta2 * v[i] + (1 - p.beta2) * g * g;
        const double rate = lr * std::sqrt(1 - std::pow(double(p.beta2), double(t))) /
                            (1 - std::pow(double(p.beta1), double(t)));
        w[i] = w[i] * decay - rate * m[i] / (std::sqrt(v[i]) + p.eps);
      }
    }
  }
}

void kernel_step(const OptimizerParams& p, float lr, int64_t step, const std::vector<ParamSegment>& segments,
                 const std::vector<float>& grads, State& s, int block) {
  const OptimizerStep constants = make_optimizer_step(p, lr, step);
  const bool sgd = p.kind == OptimizerKind::kSgd;
  for_each_optimizer_launch(segments.data(), int(segments.size()), block,
                            [&](dim3 grid, const OptimizerSegmentBatch& batch) {
                              simt::launch(grid, dim3(unsigned(block)), optimizer_update_kernel, constants, sgd, batch,
                                           s.w.data(), grads.data(), s.m.data(), s.v.data());
                            });
}

void cpu_step(const OptimizerParams& p, float lr, int64_t step, const std::vector<ParamSegment>& segments,
              const std::vector<float>& grads, State& s) {
  cpu::optimizer_update(p, lr, step, segments.data(), int(segments.size()), s.w.data(), grads.data(), s.m.data(),
                        s.v.data());
}

std::vector<float> as_floats(const std::vector<double>& values) { return {values.begin(), values.end()}; }

struct NamedParams {
  std::string name;
  OptimizerParams params;
};

std::vector<NamedParams> every_kind() {
  OptimizerParams adam, adamw, sgd, nesterov;
  adamw.kind = OptimizerKind::kAdamW;
  adamw.weight_decay = 0.05f;
  sgd.kind = OptimizerKind::kSgd;
  sgd.weight_decay = 0.01f;
  nesterov.kind = OptimizerKind::kSgd;
  nesterov.nesterov = true;
  return {{"adam", adam}, {"adamw", adamw}, {"sgd", sgd}, {"nesterov", nesterov}};
}

TEST(OptimizerSimt, EveryKindMatchesCpuTwinAndKerasLoopOverSteps) {
  const float lr = 0.01f;
  for (const auto& [name, p] : every_kind()) {
    for (int block : {32, 50, 96, 256}) {
      State gpu = initial_state(kParams), cpu = gpu;
      std::vector<double> w(gpu.w.begin(), gpu.w.end()), m(kParams, 0.0), v(kParams, 0.0);
      for (int64_t step = 1; step <= 4; ++step) {
        const auto grads = gradients(kParams, step);
        kernel_step(p, lr, step, kSegments, grads, gpu, block);
        cpu_step(p, lr, step, kSegments, grads, cpu);
        reference_step(p, lr, step, kSegments, grads, w, m, v);
      }
      const std::string where = name + " block " + std::to_string(block);
      auto check = [&](const char* what, const std::vector<float>& got, const std::vector<float>& want_cpu,
                       const std::vector<double>& want_ref) {
        const Comparison vs_cpu = compare(got, want_cpu), vs_ref = compare(got, as_floats(want_ref));
        EXPECT_TRUE(vs_cpu.ok()) << where << " " << what << " vs cpu: " << vs_cpu.summary();
        EXPECT_TRUE(vs_ref.ok()) << where << " " << what << " vs keras loop: " << vs_ref.summary();
      };
      check("w", gpu.w, cpu.w, w);
      check("m", gpu.m, cpu.m, m);
      check("v", gpu.v, cpu.v, v);
      for (size_t i = 42; i < 45; ++i)
        EXPECT_EQ(gpu.w[i], cpu.w[i]) << where << ": element " << i << " is in no segment";
    }
  }
}

TEST(OptimizerSimt, MoreSegmentsThanOneLaunchHolds) {
  // 70 segments of 0..12 elements (empty ones included), one element of gap after each: two launches.
  std::vector<ParamSegment> segments;
  size_t offset = 0;
  for (int k = 0; k < 70; ++k) {
    const size_t size = size_t((k * 7) % 13);
    segments.push_back(ParamSegment{offset, size, k % 2 == 0, k % 3 == 0 ? 0.001f : 0.0f});
    offset += size + 1;
  }
  int launches = 0;
  for_each_optimizer_launch(segments.data(), int(segments.size()), 32,
                            [&](dim3, const OptimizerSegmentBatch&) { ++launches; });
  EXPECT_EQ(launches, 2);
  OptimizerParams p;
  p.kind = OptimizerKind::kAdamW;
  p.weight_decay = 0.05f;
  State gpu = initial_state(offset), cpu = gpu;
  const State before = gpu;
  for (int64_t step = 1; step <= 3; ++step) {
    const auto grads = gradients(offset, step);
    kernel_step(p, 0.01f, step, segments, grads, gpu, 32);
    cpu_step(p, 0.01f, step, segments, grads, cpu);
  }
  const Comparison c = compare(gpu.w, cpu.w);
  EXPECT_TRUE(c.ok()) << c.summary();
  for (const ParamSegment& seg : segments) {
    for (size_t i = seg.offset; i < seg.offset + seg.size; ++i) EXPECT_NE(gpu.w[i], before.w[i]) << i;
    EXPECT_EQ(gpu.w[seg.offset + seg.size], before.w[seg.offset + seg.size]) << "gap after offset " << seg.offset;
  }
}

TEST(OptimizerSimt, GridSmallerThanSegmentStrides) {
  OptimizerParams p;
  const OptimizerStep constants = make_optimizer_step(p, 0.01f, 1);
  OptimizerSegmentBatch batch;
  batch.count = int(kSegments.size());
  for (size_t k = 0; k < kSegments.size(); ++k) batch.segments[k] = kSegments[k];
  State gpu = initial_state(kParams), cpu = gpu;
  const auto grads = gradients(kParams, 1);
  simt::launch(dim3(3), dim3(64), optimizer_update_kernel, constants, false, batch, gpu.w.data(), grads.data(),
               gpu.m.data(), gpu.v.data());  // 192 threads for segments up to 668 long
  cpu_step(p, 0.01f, 1, kSegments, grads, cpu);
  const Comparison c = compare(gpu.w, cpu.w);
  EXPECT_TRUE(c.ok()) << c.summary();
}

// The weight-average kernel against its CPU twin: several block sizes, a count that is no
// multiple of any, and a grid smaller than the buffer (the grid-stride loop).
TEST(WeightAverageSimt, MatchesCpuTwinAtEveryBlockSizeAndGrid) {
  const int64_t count = 1001;
  const std::vector<float> w = make_values(size_t(count), 0.1f, 1.0f, 21, true);
  const std::vector<float> start = make_values(size_t(count), 0.1f, 1.0f, 22, true);
  std::vector<float> twin = start;
  cpu::weight_average(count, 0.99f, w.data(), twin.data());
  for (int block : {32, 50, 96, 256}) {
    std::vector<float> gpu = start;
    simt::launch(weight_average_grid(count, block), dim3(unsigned(block)), weight_average_kernel, count, 0.99f,
                 w.data(), gpu.data());
    const Comparison c = compare(gpu, twin);
    EXPECT_TRUE(c.ok()) << "block " << block << ": " << c.summary();
  }
  std::vector<float> strided = start;
  simt::launch(dim3(2), dim3(64), weight_average_kernel, count, 0.99f, w.data(), strided.data());  // 128 threads
  const Comparison c = compare(strided, twin);
  EXPECT_TRUE(c.ok()) << "grid of 2 x 64: " << c.summary();
}

}  // namespace
}  // namespace hdr

// The op table (engine/backends/backend_ops.h) is the one list of backend ops: every op in it,
// called on a ProfilingBackend inside a scope, is timed into a row named after it and runs the
// wrapped backend's own op (not a default, not another op). A recording backend stands in for a
// device: it touches no memory, so each op runs with its argument struct's defaults.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/backends/cpu/onednn_ops.h"
#include "engine/backends/device_array.h"
#include "engine/profile/profiling_backend.h"

namespace hdr {
namespace {

// Records which of its ops ran, in order.
class RecordingBackend final : public Backend {
 public:
  std::vector<Op> ran;

  std::string name() const override { return "recording"; }
  void* allocate(size_t bytes) override { return std::malloc(bytes); }
  void deallocate(void* p) override { std::free(p); }
  void upload(void*, const void*, size_t) override {}
  void download(void*, const void*, size_t) override {}
  void fill_zero(void*, size_t) override {}
  DevicePeaks measure_peaks() override { return {}; }
  Layout activation_layout(int, int64_t) const override { return Layout::kNchw; }

 protected:
#define HDR_RECORD_OP(name, Args, ...) \
  void do_##name(const Args&) override { ran.push_back(Op::name); }
  HDR_BACKEND_OPS(HDR_RECORD_OP)
#undef HDR_RECORD_OP
};

// Calls `op` on `backend` with default arguments.
void call(Backend& backend, Op op) {
  switch (op) {
#define HDR_CALL_OP(name, Args, ...) \
  case Op::name: return backend.name(Args{});
    HDR_BACKEND_OPS(HDR_CALL_OP)
#undef HDR_CALL_OP
  }
}

TEST(BackendOps, TheProfilerTimesEveryOpOfTheTableAndRunsTheWrappedBackendsOwn) {
  RecordingBackend device;
  ProfilingBackend profiler(device);
  profiler.set_scope("every op");
  std::vector<std::string> names;
  for (const Op op : kAllOps) {
    device.ran.clear();
    call(profiler, op);
    EXPECT_EQ(device.ran, std::vector<Op>{op}) << op_name(op) << " did not run the wrapped backend's own op once";
    names.push_back(op_name(op));
  }
  std::vector<std::string> timed;
  for (const OpRow& row : profiler.rows()) {
    EXPECT_EQ(row.scope, "every op");
    EXPECT_EQ(row.seconds.size(), 1u) << row.op;
    timed.push_back(row.op);
  }
  EXPECT_EQ(timed, names) << "every op of engine/backends/backend_ops.h must be timed by the profiler, once";
}

TEST(BackendOps, NamesAreDistinctAndThoseOfTheMethods) {
  std::set<std::string> seen;
  for (const Op op : kAllOps) EXPECT_TRUE(seen.insert(op_name(op)).second) << op_name(op);
  // Profiles and `hdr bench` JSON key on these names: old results compare with new ones.
  EXPECT_STREQ(op_name(Op::conv_backward_weights), "conv_backward_weights");
  EXPECT_STREQ(op_name(Op::bn_relu_maxpool_backward), "bn_relu_maxpool_backward");
}

// nChw16c where oneDNN runs 16-lane vectors, nChw8c below (the avx2: copies of these tests,
// tests/CMakeLists.txt, run them so on any CPU).
TEST(BackendOps, TheCpuBackendBlocksActivationsByItsConvolutionsVectorWidth) {
  const int lanes = OneDnnOps::vector_lanes();
  const char* isa = std::getenv("ONEDNN_MAX_CPU_ISA");
  if (isa && std::string(isa) == "AVX2") {
    EXPECT_EQ(lanes, 8);
  }
  const std::unique_ptr<Backend> cpu = make_cpu_backend(1);
  EXPECT_EQ(cpu->activation_layout(32, 26 * 26), lanes >= 16 ? Layout::kNchw16c : Layout::kNchw8c);
  EXPECT_EQ(cpu->activation_layout(24, 13 * 13), lanes >= 16 ? Layout::kNchw : Layout::kNchw8c);
  EXPECT_EQ(cpu->activation_layout(32, 1), Layout::kNchw);  // dense rows
  EXPECT_EQ(cpu->activation_layout(5, 13 * 13), Layout::kNchw);
}

// Predictor runs a single image on one thread through this limit (engine/inference).
TEST(BackendOps, AttachThreadCapsTheCpuBackendsThreads) {
  const std::unique_ptr<Backend> cpu = make_cpu_backend(2);
  cpu->attach_thread(1);
  EXPECT_EQ(omp_get_max_threads(), 1);
  cpu->attach_thread(0);
  EXPECT_EQ(omp_get_max_threads(), 2);
  cpu->attach_thread(8);  // never more than the backend's own
  EXPECT_EQ(omp_get_max_threads(), 2);
}

// The training loop's divergence scan: NaN and both infinities count; the largest float, a
// subnormal and -0 do not; the profiler passes the question on.
TEST(BackendNonFinite, CountsNaNAndInfinitiesOnly) {
  auto cpu = make_cpu_backend(2);
  ProfilingBackend profiler(*cpu);
  std::vector<float> host(1000, 1.0f);
  host[3] = NAN, host[500] = INFINITY, host[999] = -INFINITY;
  host[7] = 3.4e38f, host[8] = 1e-45f, host[9] = -0.0f;
  DeviceArray<float> values(*cpu, host.size());
  values.upload(host);
  EXPECT_EQ(cpu->count_non_finite(values.data(), host.size()), 3);
  EXPECT_EQ(profiler.count_non_finite(values.data(), host.size()), 3);
  EXPECT_EQ(cpu->count_non_finite(values.data(), 3), 0);  // only the first count values
}

}  // namespace
}  // namespace hdr

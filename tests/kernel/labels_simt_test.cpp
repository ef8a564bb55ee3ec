// The label gather kernel (kernels/labels.cuh) through the CUDA emulation, at several block sizes
// on a batch size that is not a multiple of any of them, against the CPU twin and a plain loop.
#include "kernels/simt_host.h"
// simt_host.h first: it enables the __global__ kernels of the .cuh.
#include "kernels/labels.cuh"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/verify/compare.h"
#include "kernels/ops.h"

namespace hdr {
namespace {

std::vector<float> as_floats(const std::vector<uint8_t>& values) { return {values.begin(), values.end()}; }

TEST(LabelsSimt, GatherMatchesCpuTwinAndPlainLoop) {
  const int count = 1000, n = 845;
  std::vector<uint8_t> labels(count);
  for (int k = 0; k < count; ++k) labels[size_t(k)] = uint8_t((k * 7 + k / 10) % 10);
  std::vector<int32_t> indices(n);
  for (int i = 0; i < n; ++i) indices[size_t(i)] = int32_t((i * 389 + 17) % count);  // 389 is prime: no repeats
  std::vector<uint8_t> want_plain(n), want_cpu(n);
  for (int i = 0; i < n; ++i) want_plain[size_t(i)] = labels[size_t(indices[size_t(i)])];
  cpu::gather_labels(labels.data(), indices.data(), n, want_cpu.data());
  for (int block : {32, 50, 96, 256}) {
    std::vector<uint8_t> got(n + 1, 255);  // one guard byte past the batch
    simt::launch(gather_labels_grid(n, block), dim3(unsigned(block)), gather_labels_kernel, labels.data(),
                 indices.data(), n, got.data());
    EXPECT_EQ(got[size_t(n)], 255) << "block " << block << " wrote past n";
    got.resize(size_t(n));
    EXPECT_TRUE(compare(as_floats(got), as_floats(want_cpu), Tolerance{0, 0}).ok()) << "block " << block;
    EXPECT_TRUE(compare(as_floats(got), as_floats(want_plain), Tolerance{0, 0}).ok()) << "block " << block;
  }
}

}  // namespace
}  // namespace hdr

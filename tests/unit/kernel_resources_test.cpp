// The ptxas report compiled into hdr: parsed as ptxas writes it (a fixture with a spilling kernel
// shows a spill is caught), the theoretical occupancy counted by hand, and the build's own report:
// every hand-written kernel for every architecture, none spilling registers. The last test is
// what makes CI fail on a spill.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/backends/build_info.h"
#include "engine/profile/kernel_resources.h"

namespace hdr {
namespace {

// What nvcc --resource-usage printed for three kernels (sm_75 and sm_90), the second with spill
// counts edited in: the shape of the lines is ptxas', byte for byte.
constexpr const char* kReport = R"(ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z1kPfi' for 'sm_75'
ptxas info    : Function properties for _Z1kPfi
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 10 registers, used 1 barriers, 256 bytes smem, 364 bytes cmem[0]
ptxas info    : Compile time = 1.512 ms
ptxas info    : Compiling entry function '_ZN3hdr4cuda5spillILi512EEEvPf' for 'sm_90'
ptxas info    : Function properties for _ZN3hdr4cuda5spillILi512EEEvPf
    2048 bytes stack frame, 40 bytes spill stores, 36 bytes spill loads
ptxas info    : Used 64 registers, used 0 barriers, 2048 bytes cumulative stack size
ptxas info    : Compile time = 1704.410 ms
ptxas info    : Compiling entry function '_ZN3hdr14augment_kernelEPf' for 'sm_75'
ptxas info    : Function properties for _ZN3hdr14augment_kernelEPf
    32 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 36 registers, used 1 barriers, 32 bytes cumulative stack size, 24 bytes smem, 432 bytes cmem[0], 8 bytes cmem[2]
)";

TEST(KernelResources, ParsesPtxasReportAndFlagsSpills) {
  const auto kernels = parse_resource_usage(kReport);
  ASSERT_EQ(kernels.size(), 3u);
  EXPECT_EQ(kernels[0].kernel, "k");
  EXPECT_EQ(kernels[0].arch, "sm_75");
  EXPECT_EQ(kernels[0].registers, 10);
  EXPECT_EQ(kernels[0].barriers, 1);
  EXPECT_EQ(kernels[0].shared_bytes, 256);
  EXPECT_FALSE(kernels[0].spills());
  EXPECT_EQ(kernels[1].kernel, "void hdr::cuda::spill<512>");
  EXPECT_EQ(kernels[1].arch, "sm_90");
  EXPECT_EQ(kernels[1].registers, 64);
  EXPECT_EQ(kernels[1].stack_bytes, 2048);
  EXPECT_EQ(kernels[1].shared_bytes, 0);  // "cumulative stack size" is not shared memory
  EXPECT_EQ(kernels[1].spill_store_bytes, 40);
  EXPECT_EQ(kernels[1].spill_load_bytes, 36);
  EXPECT_TRUE(kernels[1].spills());
  EXPECT_EQ(kernels[2].kernel, "hdr::augment_kernel");
  EXPECT_EQ(kernels[2].stack_bytes, 32);
  EXPECT_EQ(kernels[2].shared_bytes, 24);  // after the cumulative stack size
  EXPECT_FALSE(kernels[2].spills());
}

TEST(KernelResources, OccupancyByHand) {
  KernelResources k{"k", "sm_90"};
  k.registers = 32;  // 1,024 registers a warp: 64 warps fit, all the SM holds
  EXPECT_DOUBLE_EQ(theoretical_occupancy(k, 256), 1.0);
  k.registers = 64;  // 2,048 a warp: 32 warps, 4 blocks of 8
  EXPECT_DOUBLE_EQ(theoretical_occupancy(k, 256), 0.5);
  k.registers = 33;  // rounded up to 1,280 a warp: 51 warps, so 6 whole blocks (48 warps)
  EXPECT_DOUBLE_EQ(theoretical_occupancy(k, 256), 0.75);
  k.registers = 16;
  k.shared_bytes = 100 << 10;  // 228 KiB per SM: 2 blocks
  EXPECT_DOUBLE_EQ(theoretical_occupancy(k, 256), 16.0 / 64);
  KernelResources turing{"k", "sm_75"};
  turing.registers = 10;  // Turing holds 32 warps: 4 blocks of 256
  EXPECT_DOUBLE_EQ(theoretical_occupancy(turing, 256), 1.0);
  KernelResources ampere{"k", "sm_86"};
  ampere.registers = 128;  // 4,096 a warp: 16 of its 48 warps
  EXPECT_DOUBLE_EQ(theoretical_occupancy(ampere, 256), 16.0 / 48);
  EXPECT_DOUBLE_EQ(theoretical_occupancy(KernelResources{"k", "sm_1000"}, 256), 0.0);
}

#ifdef HDR_WITH_CUDA
TEST(KernelResources, NoKernelOfThisBuildSpills) {
  const auto kernels = built_hdr_kernels();
  ASSERT_FALSE(kernels.empty()) << "the build compiled in no ptxas report";
  // The library's kernels (Thrust's) are in the report too, and left out here.
  EXPECT_LT(kernels.size(), parse_resource_usage(built_kernel_resources()).size());
  std::set<std::string> archs, names;
  for (const KernelResources& k : kernels) {
    EXPECT_FALSE(k.spills()) << k.kernel << " on " << k.arch << " spills " << k.spill_store_bytes << " bytes";
    EXPECT_GT(k.registers, 0) << k.kernel;
    archs.insert(k.arch);
    names.insert(k.kernel);
  }
  // Every real architecture of the build has its report (the 90 entry is sm_90 + PTX).
  for (const char* arch : {"sm_75", "sm_80", "sm_86", "sm_89", "sm_90"}) {
    if (std::string(HDR_CUDA_ARCHITECTURES).find(std::string(arch).substr(3)) != std::string::npos) {
      EXPECT_TRUE(archs.count(arch)) << arch;
    }
  }
  for (const char* kernel : {"augment_kernel", "dropout_masked_scale_kernel", "optimizer_update_kernel",
                             "bn_relu_stats_partial_kernel", "softmax_xent_kernel"}) {
    bool found = false;
    for (const std::string& name : names) found |= name.find(kernel) != std::string::npos;
    EXPECT_TRUE(found) << kernel;
  }
}
#else
TEST(KernelResources, NoKernelOfThisBuildSpills) {
  EXPECT_TRUE(built_kernel_resources().empty());
  GTEST_SKIP() << "this build has no CUDA kernels";
}
#endif

}  // namespace
}  // namespace hdr

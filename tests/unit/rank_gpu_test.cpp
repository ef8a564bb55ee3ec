// The GPU of each rank (engine/distributed/rank_gpu.h): its own where every rank sees every GPU,
// the only one it sees where each rank sees one (SLURM's per-task CUDA_VISIBLE_DEVICES, which used
// to fail with "no GPU cuda:1"), refused where two ranks of a machine land on one GPU.
#include "engine/distributed/rank_gpu.h"

#include <gtest/gtest.h>

#include "engine/core/errors.h"

namespace hdr {
namespace {

TEST(RankGpu, EachLocalRankTakesItsOwnWhenAllGpusAreVisible) {
  EXPECT_EQ(rank_gpu(0, 4), 0);
  EXPECT_EQ(rank_gpu(3, 4), 3);
}

TEST(RankGpu, ARankThatSeesOneGpuTakesIt) {
  EXPECT_EQ(rank_gpu(0, 1), 0);
  EXPECT_EQ(rank_gpu(1, 1), 0);
  EXPECT_EQ(rank_gpu(7, 1), 0);
}

TEST(RankGpu, MoreRanksThanGpusWrapAroundAndNoGpuIsAnError) {
  EXPECT_EQ(rank_gpu(5, 4), 1);
  EXPECT_THROW(rank_gpu(0, 0), InputError);
}

TEST(SharedGpu, DistinctGpusOrMachinesPass) {
  EXPECT_FALSE(shared_gpu({"a GPU-1", "a GPU-2", "b GPU-1", "b GPU-2"}));
  EXPECT_FALSE(shared_gpu({"a GPU-1"}));
}

TEST(SharedGpu, TwoRanksOnOneGpuOfAMachineAreNamed) {
  const auto why = shared_gpu({"a GPU-1", "a GPU-2", "b GPU-1", "a GPU-1"});
  ASSERT_TRUE(why);
  EXPECT_EQ(why->rfind("ranks 0 and 3 would share one GPU (a GPU-1)", 0), 0u) << *why;
}

}  // namespace
}  // namespace hdr

// GrowingBlock (engine/backends/cuda/caching_allocator.h) over a recording source: it grows only
// when asked for more, and a failed allocation keeps the old block (the cuDNN workspace that
// existing plans still use) instead of leaving it null with size 0.
#include "engine/backends/cuda/caching_allocator.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace hdr::cuda {
namespace {

// Hands out distinct fake addresses and records the calls; fails every allocation above a limit.
class RecordingSource final : public BlockSource {
 public:
  explicit RecordingSource(size_t limit) : limit_(limit) {}
  void* allocate(size_t bytes) override {
    calls.push_back("allocate " + std::to_string(bytes));
    if (bytes > limit_) throw std::runtime_error("GPU out of memory");
    return &blocks_[next_++];
  }
  void deallocate(void* p) override {
    if (p) calls.push_back("deallocate " + std::to_string(static_cast<char*>(p) - blocks_));
  }
  void* block(int i) { return &blocks_[i]; }
  std::vector<std::string> calls;

 private:
  size_t limit_;
  char blocks_[8] = {};
  int next_ = 0;
};

TEST(GrowingBlock, GrowsOnlyWhenAskedForMoreAndFreesTheOldBlockAfterTheNew) {
  RecordingSource source(1000);
  {
    GrowingBlock block(source);
    EXPECT_TRUE(block.reserve(100));
    EXPECT_FALSE(block.reserve(50));
    EXPECT_FALSE(block.reserve(100));
    EXPECT_TRUE(block.reserve(200));
    EXPECT_EQ(block.data(), source.block(1));
    EXPECT_EQ(block.bytes(), 200u);
  }
  EXPECT_EQ(source.calls, (std::vector<std::string>{"allocate 100", "allocate 200", "deallocate 0", "deallocate 1"}));
}

TEST(GrowingBlock, AFailedAllocationKeepsTheOldBlock) {
  RecordingSource source(1000);
  GrowingBlock block(source);
  ASSERT_TRUE(block.reserve(600));
  EXPECT_THROW(block.reserve(2000), std::runtime_error);
  EXPECT_EQ(block.data(), source.block(0));
  EXPECT_EQ(block.bytes(), 600u);
  EXPECT_EQ(source.calls, (std::vector<std::string>{"allocate 600", "allocate 2000"}));  // nothing freed
  EXPECT_TRUE(block.reserve(800));  // and it can still grow within the limit
  EXPECT_EQ(block.data(), source.block(1));
}

}  // namespace
}  // namespace hdr::cuda

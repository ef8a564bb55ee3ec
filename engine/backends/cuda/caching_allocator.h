// Device memory for the CUDA backend: a caching allocator, so that cudaMalloc (which
// synchronises the device and costs ~10-100 us) runs only when the cache has no block of the
// requested size class, and cudaFree only when the allocator is destroyed (or once, to retry a
// failed cudaMalloc). Freed blocks go back to a free list of their size class.
//
// Size classes: up to 1 MiB, multiples of 512 B; above, multiples of 2 MiB. A request reuses
// only a block of its own class, so waste is < 512 B or < 2 MiB per block and a model's
// second allocation of the same shapes (evaluation buffers every epoch, a reloaded model)
// hits the cache.
//
// Stream safety: all work of the backend runs on one stream, so a block freed on the host while
// kernels still use it and handed out again is only touched by later work on that same stream,
// after the earlier work has finished. Not thread-safe: one backend, one host thread.
#pragma once

#include <cstddef>
#include <map>
#include <unordered_map>
#include <vector>

namespace hdr::cuda {

// Where a GrowingBlock takes its memory from: the CachingAllocator (a test passes one that fails).
class BlockSource {
 public:
  virtual ~BlockSource() = default;
  virtual void* allocate(size_t bytes) = 0;  // throws std::runtime_error when out of memory
  virtual void deallocate(void* p) = 0;      // p must come from allocate(); null is ignored
};

class CachingAllocator final : public BlockSource {
 public:
  CachingAllocator() = default;
  ~CachingAllocator() override;  // frees every block (the caller synchronises the device first)
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t bytes) override;  // throws std::runtime_error when the device is out of memory
  void deallocate(void* p) override;      // p must come from allocate(); null is ignored

  static size_t size_class(size_t bytes);
  size_t bytes_reserved() const { return reserved_; }     // held from cudaMalloc, live or cached
  size_t device_allocations() const { return mallocs_; }  // cudaMalloc calls so far

 private:
  void release_cached();  // cudaFree of every cached block (before retrying a failed cudaMalloc)

  std::map<size_t, std::vector<void*>> free_;  // size class -> cached blocks
  std::unordered_map<void*, size_t> live_;     // handed-out block -> size class
  size_t reserved_ = 0, mallocs_ = 0;
};

// A block that only grows, for workspaces sized by the largest user seen (cuDNN's workspace,
// the kernels' scratch): reserve() swaps in a larger block when asked for more. The old block
// goes back to the source only once the new one is allocated, so a failed allocation (out of
// memory) leaves the block, and every plan bound to it, as it was. Work queued on the old block
// runs before anything that reuses it (one stream).
class GrowingBlock {
 public:
  explicit GrowingBlock(BlockSource& source) : source_(source) {}
  ~GrowingBlock() { source_.deallocate(data_); }
  GrowingBlock(const GrowingBlock&) = delete;
  GrowingBlock& operator=(const GrowingBlock&) = delete;

  // True when the block changed (a caller that bound the old one binds the new one). Throws what
  // the source throws, with the old block kept.
  bool reserve(size_t bytes) {
    if (bytes <= bytes_) return false;
    void* larger = source_.allocate(bytes);
    source_.deallocate(data_);
    data_ = larger;
    bytes_ = bytes;
    return true;
  }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  BlockSource& source_;
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace hdr::cuda

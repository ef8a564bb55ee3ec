// See caching_allocator.h: size-class free lists in front of cudaMalloc.
#include "engine/backends/cuda/caching_allocator.h"

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <stdexcept>

#include "kernels/cuda_check.h"

namespace hdr::cuda {

namespace {
constexpr size_t kSmallLimit = size_t(1) << 20, kSmallStep = 512, kLargeStep = size_t(2) << 20;
}  // namespace

size_t CachingAllocator::size_class(size_t bytes) {
  const size_t step = bytes <= kSmallLimit ? kSmallStep : kLargeStep;
  return bytes == 0 ? kSmallStep : (bytes + step - 1) / step * step;
}

CachingAllocator::~CachingAllocator() {
  // Errors are ignored here: a destructor must not throw, and a context that is already gone
  // (process exit after a device fault) has freed the memory anyway.
  for (auto& [size, blocks] : free_)
    for (void* p : blocks) cudaFree(p);
  for (auto& [p, size] : live_) cudaFree(p);
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t cls = size_class(bytes);
  if (auto it = free_.find(cls); it != free_.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    live_.emplace(p, cls);
    return p;
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, cls);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the recorded error, or the next launch check reports it
    release_cached();
    err = cudaMalloc(&p, cls);
  }
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw std::runtime_error(fmt::format("GPU out of memory: cudaMalloc of {:.1f} MiB failed with {:.1f} MiB held",
                                         double(cls) / (1 << 20), double(reserved_) / (1 << 20)));
  }
  HDR_CUDA_CHECK(err);
  reserved_ += cls;
  ++mallocs_;
  live_.emplace(p, cls);
  return p;
}

void CachingAllocator::deallocate(void* p) {
  if (!p) return;
  const auto it = live_.find(p);
  if (it == live_.end()) throw std::logic_error("CachingAllocator::deallocate: pointer not from this allocator");
  free_[it->second].push_back(p);
  live_.erase(it);
}

void CachingAllocator::release_cached() {
  HDR_CUDA_CHECK(cudaDeviceSynchronize());  // cached blocks may still be read by queued work
  for (auto& [size, blocks] : free_) {
    for (void* p : blocks) {
      HDR_CUDA_CHECK(cudaFree(p));
      reserved_ -= size;
    }
    blocks.clear();
  }
}

}  // namespace hdr::cuda

// Host emulation of the CUDA execution model, so the very same __global__ kernels of
// kernels/<op>.cuh compile with g++ and run in tests (also under ASan/UBSan). Used by tests only.
//
// What is emulated, and how:
//   - launch(grid, block, kernel, args...): the blocks of the grid run one after another; the
//     threads of a block run concurrently as real std::threads (one per CUDA thread).
//   - threadIdx / blockIdx / blockDim / gridDim: thread_local dim3 values.
//   - __syncthreads(): a real barrier over the block. A thread that has returned counts as
//     arrived (as on sm_70+), so `if (i >= n) return;` before a barrier does not deadlock.
//   - __shared__: a function-local static. Blocks never overlap in time, so one static per
//     kernel is exactly "one copy per block". Only fixed-size shared arrays (no extern
//     dynamic shared memory). Contents are not reset between blocks (uninitialised, as on a GPU).
//   - warp shuffles (__shfl_sync, __shfl_down_sync, __shfl_xor_sync) and __syncwarp(): an
//     exchange through per-warp slots between two warp barriers; the lanes of a warp must call
//     them under uniform control flow (every live lane, the same call), as the design requires,
//     and must not read lanes that are not live (see shuffle()).
//   - atomicAdd / atomicMax / atomicMin on int, unsigned long long, float, double:
//     std::atomic_ref.
// Not emulated: timing, memory coalescing, occupancy, dynamic shared memory, cooperative groups.
#pragma once

#if defined(__CUDACC__)
#error "simt_host.h is the host emulation; nvcc compiles the kernels natively"
#endif

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

#define HDR_SIMT_HOST 1

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

inline constexpr int warpSize = 32;

namespace hdr::simt {

// A barrier for a group of emulated threads where a thread that has finished (returned from
// the kernel) counts as arrived at every later barrier of the group.
class GroupBarrier {
 public:
  explicit GroupBarrier(int size) : size_(size) {}
  void sync() {
    std::unique_lock lock(mutex_);
    const uint64_t generation = generation_;
    if (++arrived_ + exited_ >= size_) {
      release();
    } else {
      cv_.wait(lock, [&] { return generation_ != generation; });
    }
  }
  void exit() {
    std::lock_guard lock(mutex_);
    ++exited_;
    if (arrived_ > 0 && arrived_ + exited_ >= size_) release();
  }
  // Called by every thread after exit(): waits until the whole group has exited, then resets.
  void await_all_exited() {
    std::unique_lock lock(mutex_);
    const uint64_t round = round_;
    if (++waiting_ == size_) {
      waiting_ = 0;
      exited_ = 0;
      arrived_ = 0;
      ++round_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return round_ != round; });
    }
  }

 private:
  void release() {
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  int size_, arrived_ = 0, exited_ = 0, waiting_ = 0;
  uint64_t generation_ = 0, round_ = 0;
};

struct Warp {
  explicit Warp(int lanes) : barrier(lanes) {}
  GroupBarrier barrier;
  uint64_t slots[32] = {};  // the value each lane offers to a shuffle
};

struct ThreadState {
  GroupBarrier* block = nullptr;
  Warp* warp = nullptr;
};
inline thread_local ThreadState current;

}  // namespace hdr::simt

inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

inline void __syncthreads() { hdr::simt::current.block->sync(); }
inline void __syncwarp(unsigned = 0xffffffffu) { hdr::simt::current.warp->barrier.sync(); }

namespace hdr::simt {

inline unsigned lane_id() { return (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 32u; }

// Every live lane offers `value`, then reads the one of lane src (its own when src is outside
// 0..31). Reading a lane that has exited or lies past a partial warp's end gives a stale slot,
// undefined as on a GPU: kernels guard such lanes themselves.
template <class T>
T shuffle(T value, int src) {
  static_assert(sizeof(T) <= sizeof(uint64_t));
  Warp& w = *current.warp;
  const unsigned lane = lane_id();
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  w.slots[lane] = bits;
  w.barrier.sync();
  T out = value;
  if (src >= 0 && src < 32) std::memcpy(&out, &w.slots[src], sizeof(T));
  w.barrier.sync();
  return out;
}

}  // namespace hdr::simt

template <class T>
T __shfl_sync(unsigned, T value, int src_lane, int = warpSize) {
  return hdr::simt::shuffle(value, src_lane);
}
template <class T>
T __shfl_down_sync(unsigned, T value, unsigned delta, int = warpSize) {
  const unsigned lane = hdr::simt::lane_id();
  return hdr::simt::shuffle(value, lane + delta < 32u ? int(lane + delta) : int(lane));
}
template <class T>
T __shfl_xor_sync(unsigned, T value, int mask, int = warpSize) {
  return hdr::simt::shuffle(value, int(hdr::simt::lane_id() ^ unsigned(mask)));
}

template <class T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
template <class T>
T atomicMax(T* address, T value) {
  std::atomic_ref<T> a(*address);
  T old = a.load();
  while (old < value && !a.compare_exchange_weak(old, value)) {
  }
  return old;
}
template <class T>
T atomicMin(T* address, T value) {
  std::atomic_ref<T> a(*address);
  T old = a.load();
  while (value < old && !a.compare_exchange_weak(old, value)) {
  }
  return old;
}

namespace hdr::simt {

// Runs kernel(args...) over grid x block, as kernel<<<grid, block>>>(args...) would.
template <class Kernel, class... Args>
void launch(dim3 grid, dim3 block, Kernel kernel, Args... args) {
  const int threads = int(block.x * block.y * block.z);
  const int warps = (threads + 31) / 32;
  GroupBarrier block_barrier(threads);
  std::vector<std::unique_ptr<Warp>> warp_state;
  for (int w = 0; w < warps; ++w) warp_state.push_back(std::make_unique<Warp>(std::min(32, threads - 32 * w)));
  std::vector<std::thread> pool;
  pool.reserve(size_t(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      threadIdx = dim3(unsigned(t) % block.x, (unsigned(t) / block.x) % block.y, unsigned(t) / (block.x * block.y));
      blockDim = block;
      gridDim = grid;
      current = ThreadState{&block_barrier, warp_state[size_t(t / 32)].get()};
      for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
          for (unsigned bx = 0; bx < grid.x; ++bx) {
            blockIdx = dim3(bx, by, bz);
            kernel(args...);
            current.warp->barrier.exit();
            block_barrier.exit();
            block_barrier.await_all_exited();
            current.warp->barrier.await_all_exited();
          }
    });
  }
  for (std::thread& th : pool) th.join();
}

}  // namespace hdr::simt

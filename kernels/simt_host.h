// Host emulation of the CUDA execution model, so the very same __global__ kernels of
// kernels/<op>.cuh compile with g++ and run in tests (also under ASan/UBSan and TSan). Used by
// tests only. It is built to make the undefined behaviour a GPU punishes fail here too, instead of
// turning it into a harmless 0:
//   - launch(grid, block, kernel, args...): checks the configuration as the hardware does (no
//     empty grid or block, at most 1024 threads a block, grid y and z at most 65,535) and throws
//     LaunchError before anything runs; then runs the blocks one after another in a shuffled
//     order (seeded: HDR_SIMT_SEED, default 1), so code that relies on block order fails; the
//     threads of a block run concurrently as real std::threads (one per CUDA thread). Faults
//     found while the grid runs (below) are collected and thrown as one LaunchError once it has
//     finished, naming the launch, the block, the thread and the source line.
//   - threadIdx / blockIdx / blockDim / gridDim: thread_local dim3 values.
//   - __syncthreads(): a real barrier over the block. A thread that has returned counts as
//     arrived (as on sm_70+), so `if (i >= n) return;` before a barrier does not deadlock. Threads
//     waiting at two different __syncthreads() of the kernel at once (a divergent barrier) are a
//     fault.
//   - shared memory: HDR_SHARED(type, name, count) (kernels/hd.h), a function-local static array
//     registered with the launch. It is poison (every byte 0xFF: NaN as a float or double, -1 as a
//     signed integer) when a block starts, and a kernel's arrays over 48 KiB together are a fault.
//     Plain __shared__ does not compile here: it could not be poisoned.
//   - __shfl_sync, __shfl_down_sync, __shfl_xor_sync: the lanes named in the mask that have not
//     returned meet and exchange values. Reading a lane outside the mask, past a partial warp's end
//     or one that has returned gives poison, as the value is undefined on a GPU. A calling lane
//     left out of its own mask, lanes of one exchange with different masks or at different source
//     lines, and a width other than 32 are faults. __syncwarp(mask) is an exchange of nothing.
//   - atomicAdd / atomicMax / atomicMin on int, unsigned long long, float, double:
//     std::atomic_ref.
// Not emulated: timing, memory coalescing, occupancy, dynamic shared memory, cooperative groups.
// Launches are serialised (one at a time in a process).
#pragma once

#if defined(__CUDACC__)
#error "simt_host.h is the host emulation; nvcc compiles the kernels natively"
#endif

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <source_location>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// inline: a kernel of a .cuh may then be compiled into several test files of one binary (nvcc
// builds include each .cuh into one .cu only).
#define __global__ inline
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ __shared___is_not_emulated_use_HDR_SHARED
#define HDR_SHARED(type, name, count) \
  static type name[count];            \
  ::hdr::simt::shared_array(name, sizeof(name))

#define HDR_SIMT_HOST 1

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

inline constexpr int warpSize = 32;

// CUDA's 16-byte vector (vector_types.h), for kernels that move four floats at once.
struct alignas(16) float4 {
  float x, y, z, w;
};

namespace hdr::simt {

// A launch the hardware would refuse, or undefined behaviour the grid ran into.
class LaunchError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Every byte of uninitialised shared memory and of an undefined shuffle result.
inline constexpr unsigned char kPoisonByte = 0xFF;
template <class T>
T poison() {
  T value;
  std::memset(&value, kPoisonByte, sizeof(T));
  return value;
}

inline constexpr size_t kMaxStaticSharedBytes = 48 * 1024;
inline constexpr unsigned kMaxBlockThreads = 1024, kMaxGridYZ = 65535;

inline std::string where(const std::source_location& at) {
  return fmt::format("{}:{} ({})", at.file_name(), at.line(), at.function_name());
}

// What one launch shares between its threads: the faults found and the shared arrays in use.
class LaunchState {
 public:
  // Records a fault of the calling emulated thread (its block and thread are named).
  void fault(const std::string& what);
  std::vector<std::string> faults() {
    std::lock_guard lock(mutex_);
    return faults_;
  }

  // Registers a shared array the first time a block reaches its declaration, poisoning it.
  void shared_array(void* data, size_t bytes, const std::source_location& at) {
    std::lock_guard lock(mutex_);
    if (std::any_of(shared_.begin(), shared_.end(), [data](const auto& s) { return s.first == data; })) return;
    std::memset(data, kPoisonByte, bytes);
    shared_.emplace_back(data, bytes);
    shared_bytes_ += bytes;
    if (shared_bytes_ > kMaxStaticSharedBytes)
      faults_.push_back(fmt::format("{} bytes of shared memory, over the {} a kernel may declare statically "
                                    "(the last array at {})",
                                    shared_bytes_, kMaxStaticSharedBytes, where(at)));
  }
  // Between two blocks, when no thread runs.
  void poison_shared() {
    std::lock_guard lock(mutex_);
    for (const auto& [data, bytes] : shared_) std::memset(data, kPoisonByte, bytes);
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> faults_;
  std::vector<std::pair<void*, size_t>> shared_;
  size_t shared_bytes_ = 0;
};

// A barrier for a group of emulated threads where a thread that has finished (returned from
// the kernel) counts as arrived at every later barrier of the group. Threads of one round must
// wait at the same source line.
class GroupBarrier {
 public:
  explicit GroupBarrier(int size) : size_(size) {}
  void sync(const std::source_location& at, unsigned thread) {
    std::unique_lock lock(mutex_);
    if (arrived_ == 0) {
      site_ = at;
      site_thread_ = thread;
    } else if (site_.line() != at.line() || std::strcmp(site_.file_name(), at.file_name()) != 0) {
      divergent_ = fmt::format("divergent __syncthreads(): thread {} waits at {} while thread {} of the block "
                               "waits at {}",
                               thread, where(at), site_thread_, where(site_));
    }
    const uint64_t generation = generation_;
    if (++arrived_ + exited_ >= size_) {
      release();
    } else {
      cv_.wait(lock, [&] { return generation_ != generation; });
    }
  }
  // The divergence a thread of the round saw, once (reported outside the barrier's lock).
  std::string take_divergence() {
    std::lock_guard lock(mutex_);
    return std::exchange(divergent_, std::string());
  }
  void exit() {
    std::lock_guard lock(mutex_);
    ++exited_;
    if (arrived_ > 0 && arrived_ + exited_ >= size_) release();
  }
  // Called by every thread after exit(): waits until the whole group has exited, runs
  // between_blocks (in the last thread to arrive, while every other waits), then resets.
  template <class F>
  void await_all_exited(F between_blocks) {
    std::unique_lock lock(mutex_);
    const uint64_t round = round_;
    if (++waiting_ == size_) {
      between_blocks();
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
  std::source_location site_;
  unsigned site_thread_ = 0;
  std::string divergent_;
};

// The lanes of one warp and the exchange (shuffle) they are in. An exchange gathers the lanes of
// its mask that have not returned; lanes outside it wait until it is over.
class Warp {
 public:
  explicit Warp(int lanes) : present_(lanes == 32 ? ~0u : (1u << lanes) - 1u) {}

  // The lane (in mask) offers bits, then reads lane src's offer: poison when src did not take
  // part. Faults are returned through `fault` (empty when none).
  uint64_t exchange(unsigned lane, unsigned mask, uint64_t bits, int src, const std::source_location& at,
                    std::string& fault);
  void exit(unsigned lane) {
    std::lock_guard lock(mutex_);
    exited_ |= 1u << lane;
    complete_if_ready();
  }
  void reset() {
    std::lock_guard lock(mutex_);
    exited_ = offered_ = reading_ = 0;
  }

 private:
  void complete_if_ready() {
    const unsigned needed = mask_ & present_ & ~exited_;
    if (offered_ != 0 && reading_ == 0 && (offered_ & needed) == needed) {
      took_part_ = reading_ = offered_;
      ++rounds_;
      cv_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  const unsigned present_;
  // offered_: lanes in the exchange so far; took_part_: those of the last complete one;
  // reading_: those of them that have not read yet.
  unsigned exited_ = 0, offered_ = 0, took_part_ = 0, reading_ = 0, mask_ = 0;
  uint64_t rounds_ = 0;
  std::source_location site_;
  uint64_t slots_[32] = {};
};

inline uint64_t Warp::exchange(unsigned lane, unsigned mask, uint64_t bits, int src, const std::source_location& at,
                               std::string& fault) {
  const unsigned me = 1u << lane;
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return reading_ == 0 && (offered_ == 0 || (mask_ & me)); });
  if (offered_ == 0) {
    mask_ = mask;
    site_ = at;
  } else if (mask != mask_ || site_.line() != at.line() || std::strcmp(site_.file_name(), at.file_name()) != 0) {
    fault = fmt::format("lanes of one warp exchange disagree: lane {} at {} with mask {:#010x}, another at {} "
                        "with mask {:#010x}",
                        lane, where(at), mask, where(site_), mask_);
  }
  slots_[lane] = bits;
  offered_ |= me;
  const uint64_t round = rounds_;
  complete_if_ready();
  if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return rounds_ != round; })) {
    fault = fmt::format("{}: lane {} waited 60 s for lanes {:#010x} of mask {:#010x} that never came", where(at), lane,
                        mask_ & present_ & ~exited_ & ~offered_, mask_);
    took_part_ = reading_ = offered_;  // give up on them so the grid can finish
    ++rounds_;
    cv_.notify_all();
  }
  uint64_t out;
  std::memset(&out, kPoisonByte, sizeof(out));
  if (src >= 0 && src < 32 && (took_part_ & (1u << unsigned(src)))) out = slots_[src];
  reading_ &= ~me;
  if (reading_ == 0) {
    offered_ = 0;
    cv_.notify_all();
  }
  return out;
}

struct ThreadState {
  LaunchState* launch = nullptr;
  GroupBarrier* block = nullptr;
  Warp* warp = nullptr;
  unsigned thread = 0;  // linear index in the block
};
inline thread_local ThreadState current;

}  // namespace hdr::simt

inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace hdr::simt {

inline void LaunchState::fault(const std::string& what) {
  const std::string line = fmt::format("block ({},{},{}) thread {} (warp {}, lane {}): {}", blockIdx.x, blockIdx.y,
                                       blockIdx.z, current.thread, current.thread / 32, current.thread % 32, what);
  std::lock_guard lock(mutex_);
  faults_.push_back(line);
}

inline void shared_array(void* data, size_t bytes, const std::source_location& at = std::source_location::current()) {
  current.launch->shared_array(data, bytes, at);
}

inline unsigned lane_id() { return current.thread % 32u; }

template <class T>
T shuffle(unsigned mask, T value, int src, const std::source_location& at) {
  static_assert(sizeof(T) <= sizeof(uint64_t));
  if (!(mask & (1u << lane_id()))) {  // undefined: the lane takes no part, and reads poison
    current.launch->fault(
        fmt::format("{}: lane {} calls with mask {:#010x}, which leaves it out", where(at), lane_id(), mask));
    return poison<T>();
  }
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  std::string fault;
  bits = current.warp->exchange(lane_id(), mask, bits, src, at, fault);
  if (!fault.empty()) current.launch->fault(fault);
  T out = poison<T>();
  if (src == int(lane_id())) return value;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

inline void require_full_width(int width, const std::source_location& at) {
  if (width != warpSize)
    current.launch->fault(fmt::format("{}: shuffle width {} is not emulated (only {})", where(at), width, warpSize));
}

}  // namespace hdr::simt

inline void __syncthreads(const std::source_location& at = std::source_location::current()) {
  hdr::simt::GroupBarrier& block = *hdr::simt::current.block;
  block.sync(at, hdr::simt::current.thread);
  if (std::string divergence = block.take_divergence(); !divergence.empty())
    hdr::simt::current.launch->fault(divergence);
}
inline void __syncwarp(unsigned mask = 0xffffffffu, const std::source_location& at = std::source_location::current()) {
  hdr::simt::shuffle(mask, 0, int(hdr::simt::lane_id()), at);
}

template <class T>
T __shfl_sync(unsigned mask, T value, int src_lane, int width = warpSize,
              const std::source_location& at = std::source_location::current()) {
  hdr::simt::require_full_width(width, at);
  return hdr::simt::shuffle(mask, value, src_lane & 31, at);
}
template <class T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = warpSize,
                   const std::source_location& at = std::source_location::current()) {
  hdr::simt::require_full_width(width, at);
  const unsigned lane = hdr::simt::lane_id();
  return hdr::simt::shuffle(mask, value, lane + delta < 32u ? int(lane + delta) : int(lane), at);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = warpSize,
                  const std::source_location& at = std::source_location::current()) {
  hdr::simt::require_full_width(width, at);
  return hdr::simt::shuffle(mask, value, int((hdr::simt::lane_id() ^ unsigned(lane_mask)) & 31u), at);
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

// The grid and where it was launched (an implicit conversion from dim3 at the call site, so
// faults can name the launch).
struct Grid {
  dim3 size;
  std::source_location at;
  Grid(dim3 s, const std::source_location& a = std::source_location::current()) : size(s), at(a) {}      // NOLINT
  Grid(unsigned x, const std::source_location& a = std::source_location::current()) : size(x), at(a) {}  // NOLINT
};

// Throws LaunchError for a configuration the hardware refuses (cudaErrorInvalidConfiguration).
inline void check_configuration(const Grid& grid, dim3 block) {
  const dim3 g = grid.size;
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  std::string problem;
  if (g.x == 0 || g.y == 0 || g.z == 0)
    problem = fmt::format("an empty grid ({}, {}, {})", g.x, g.y, g.z);
  else if (block.x == 0 || block.y == 0 || block.z == 0)
    problem = fmt::format("an empty block ({}, {}, {})", block.x, block.y, block.z);
  else if (threads > kMaxBlockThreads || block.x > 1024 || block.y > 1024 || block.z > 64)
    problem = fmt::format("a block of ({}, {}, {}) = {} threads: at most 1024 x 1024 x 64 and {} in all", block.x,
                          block.y, block.z, threads, kMaxBlockThreads);
  else if (g.x > 0x7fffffffu || g.y > kMaxGridYZ || g.z > kMaxGridYZ)
    problem = fmt::format("a grid of ({}, {}, {}) blocks: x at most 2^31 - 1, y and z at most {}", g.x, g.y, g.z,
                          kMaxGridYZ);
  if (!problem.empty())
    throw LaunchError(fmt::format("launch at {}: invalid configuration, {}", where(grid.at), problem));
}

// The order the blocks of a grid run in: a permutation of 0..count-1 drawn from HDR_SIMT_SEED
// (default 1) and the number of launches so far, so each launch differs and each run repeats.
inline std::vector<uint64_t> block_order(uint64_t count) {
  static std::atomic<uint64_t> launches{0};
  const char* env = std::getenv("HDR_SIMT_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : 1;
  std::vector<uint64_t> order(count);
  std::iota(order.begin(), order.end(), uint64_t{0});
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + launches.fetch_add(1));
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

inline std::mutex& launch_mutex() {
  static std::mutex m;
  return m;
}

// Runs kernel(args...) over grid x block, as kernel<<<grid, block>>>(args...) would.
template <class Kernel, class... Args>
void launch(Grid grid, dim3 block, Kernel kernel, Args... args) {
  check_configuration(grid, block);
  std::lock_guard serialised(launch_mutex());
  const dim3 g = grid.size;
  const std::vector<uint64_t> order = block_order(uint64_t(g.x) * g.y * g.z);
  const int threads = int(block.x * block.y * block.z);
  const int warps = (threads + 31) / 32;
  LaunchState state;
  GroupBarrier block_barrier(threads);
  std::vector<std::unique_ptr<Warp>> warp_state;
  for (int w = 0; w < warps; ++w) warp_state.push_back(std::make_unique<Warp>(std::min(32, threads - 32 * w)));
  const auto between_blocks = [&] {
    for (auto& w : warp_state) w->reset();
    state.poison_shared();
  };
  std::vector<std::thread> pool;
  pool.reserve(size_t(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      threadIdx = dim3(unsigned(t) % block.x, (unsigned(t) / block.x) % block.y, unsigned(t) / (block.x * block.y));
      blockDim = block;
      gridDim = g;
      current = ThreadState{&state, &block_barrier, warp_state[size_t(t / 32)].get(), unsigned(t)};
      for (const uint64_t b : order) {
        blockIdx = dim3(unsigned(b % g.x), unsigned(b / g.x % g.y), unsigned(b / (uint64_t(g.x) * g.y)));
        kernel(args...);
        current.warp->exit(lane_id());
        block_barrier.exit();
        block_barrier.await_all_exited(between_blocks);
      }
    });
  }
  for (std::thread& th : pool) th.join();
  const std::vector<std::string> faults = state.faults();
  if (!faults.empty())
    throw LaunchError(
        fmt::format("launch at {}: {} fault(s); the first: {}", where(grid.at), faults.size(), faults.front()));
}

}  // namespace hdr::simt

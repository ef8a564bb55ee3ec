#include "engine/collective_watchdog.h"

#include <cstdio>
#include <cstdlib>

namespace hdr {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

CollectiveWatchdog::CollectiveWatchdog(int rank) : rank_(rank), thread_([this] { watch(); }) {}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

CollectiveWatchdog::Wait::Wait(CollectiveWatchdog& dog, const char* call) : dog_(dog) {
  dog_.call_ = call;
  dog_.since_ns_ = now_ns();
}

CollectiveWatchdog::Wait::~Wait() { dog_.since_ns_ = 0; }

// Looks four times a second: a timeout is at least seconds, so a quarter of a second late is
// nothing, and an idle thread that wakes 4 times a second costs nothing measurable.
void CollectiveWatchdog::watch() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_; })) {
    const int64_t since = since_ns_;
    if (since == 0 || timeout_ms_ == 0) continue;
    const double waited = double(now_ns() - since) * 1e-9;
    if (waited * 1000.0 < double(timeout_ms_)) continue;
    // The main thread is inside the library's wait and cannot be unwound from here: the process
    // says why and ends; the launcher then ends the other processes.
    std::fprintf(stderr,
                 "hdr: rank %d: %s has waited %.0f s for the other processes of the run "
                 "(train.collective_timeout = %.0f s): one of them stopped responding; giving up\n",
                 rank_, call_.load(), waited, double(timeout_ms_) / 1000.0);
    std::fflush(stderr);
    std::_Exit(kCollectiveTimeoutExit);
  }
}

}  // namespace hdr

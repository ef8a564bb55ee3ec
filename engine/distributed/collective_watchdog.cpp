#include "engine/distributed/collective_watchdog.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/distributed/collective_wait.h"

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

void CollectiveWatchdog::begin(const char* call) {
  call_ = call;
  since_ns_ = now_ns();
}

CollectiveWatchdog::Wait::Wait(CollectiveWatchdog& dog, const char* call) : dog_(dog) { dog_.begin(call); }

CollectiveWatchdog::Wait::~Wait() { dog_.end(); }

// Looks four times a second: a timeout is at least seconds, so a quarter of a second late is
// nothing, and an idle thread that wakes 4 times a second costs nothing measurable. The time
// waited adds up tick by tick, at most a second a tick, so that a process stopped and continued
// (Ctrl-Z, a batch system's suspend) does not find every wait expired at once.
void CollectiveWatchdog::watch() {
  std::unique_lock lock(mutex_);
  int64_t current = 0, last = now_ns();
  double waited = 0;
  while (!wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_; })) {
    const int64_t since = since_ns_, now = now_ns();
    const double tick = std::min(double(now - (since != current ? std::max(since, last) : last)) * 1e-9, 1.0);
    last = now;
    if (since == 0 || timeout_ms_ == 0) {
      current = 0;
      continue;
    }
    waited = since != current ? tick : waited + tick;
    current = since;
    if (waited * 1000.0 < double(timeout_ms_)) continue;
    // The main thread is inside the library's wait and cannot be unwound from here: the process
    // says why and ends; the launcher then ends the other processes.
    const std::string message = collective_timeout_message(call_.load(), waited, double(timeout_ms_) / 1000.0);
    std::fprintf(stderr, "hdr: rank %d: %s\n", rank_, message.c_str());
    std::fflush(stderr);
    std::_Exit(kCollectiveTimeoutExit);
  }
}

}  // namespace hdr

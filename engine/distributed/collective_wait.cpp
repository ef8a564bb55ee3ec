#include "engine/distributed/collective_wait.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "engine/core/errors.h"

namespace hdr {

std::string collective_timeout_message(const char* call, double waited_s, double timeout_s) {
  return fmt::format(
      "{} has waited {:.0f} s for the other processes of the run (train.collective_timeout = {:.0f} s): one of them "
      "stopped responding; giving up",
      call, waited_s, timeout_s);
}

// The first calls follow each other closely: a step's all-reduce is usually done, or nearly, when
// the host asks. After that, 50 us between calls: a GPU step takes about 100 us, and the host
// would otherwise take a core from the data loading and the other ranks' processes.
void poll_collective(const char* call, double timeout_s, const std::function<bool()>& done) {
  using Clock = std::chrono::steady_clock;
  constexpr int kEagerCalls = 64;
  double waited = 0;
  Clock::time_point last = Clock::now();
  for (int calls = 0; !done(); ++calls) {
    if (calls < kEagerCalls)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    const Clock::time_point now = Clock::now();
    waited += std::min(std::chrono::duration<double>(now - last).count(), 1.0);
    last = now;
    if (timeout_s > 0 && waited >= timeout_s)
      throw CollectiveTimeout(collective_timeout_message(call, waited, timeout_s));
  }
}

}  // namespace hdr

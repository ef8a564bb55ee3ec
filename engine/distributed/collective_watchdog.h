// A data-parallel run waits on the other processes in every collective; when one of them stops
// responding without dying (stopped, hung on a lost node, a wedged GPU), nothing tells the
// launcher, and the run would wait forever. The watchdog's thread watches the wait in progress
// and, past the timeout ([train] collective_timeout), ends this process with one line naming
// the rank, the call and the time waited: exit status kCollectiveTimeoutExit, which makes
// mpirun end the rest of the job.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/core/errors.h"

namespace hdr {

class CollectiveWatchdog {
 public:
  explicit CollectiveWatchdog(int rank);
  ~CollectiveWatchdog();
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ms_ = timeout.count(); }

  // One wait at a time: from begin() to end() (what waits, e.g. "MPI_Allreduce").
  void begin(const char* call);
  void end() { since_ns_ = 0; }

  // Brackets one wait: begin() at construction, end() at destruction.
  class Wait {
   public:
    Wait(CollectiveWatchdog& dog, const char* call);
    ~Wait();
    Wait(const Wait&) = delete;
    Wait& operator=(const Wait&) = delete;

   private:
    CollectiveWatchdog& dog_;
  };

 private:
  void watch();

  const int rank_;
  std::atomic<int64_t> timeout_ms_{300'000};
  std::atomic<int64_t> since_ns_{0};  // steady-clock start of the wait in progress (its id); 0: none
  std::atomic<const char*> call_{""};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hdr

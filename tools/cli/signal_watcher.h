// SIGINT and SIGTERM for the long-running commands (train, serve), taken by a watcher thread
// rather than a signal handler: a handler runs on the stack of whichever thread the signal
// lands on, and oneDNN's JIT kernels run with their stack pointer in a heap buffer, so the
// kernel's signal frame written there corrupted the heap (found with ASan: hdr train, Ctrl-C
// during an MLP epoch). Blocked signals are never delivered to a thread at all.
//
// Construct it before any other thread starts (the threads inherit the blocked mask). The
// first signal is handed to `on_signal` (on the watcher thread); a second one ends the process
// at once, killed by that signal, after saying so on stderr.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace hdr::cli {

class SignalWatcher {
 public:
  // `poll` runs on the watcher thread about every 50 ms and once as the first signal arrives,
  // with that signal (0 before any came).
  SignalWatcher(std::string command, std::function<void(int caught)> poll);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  int caught() const { return caught_; }  // 0 until a signal came

 private:
  void watch();

  std::string command_;
  std::function<void(int)> poll_;
  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::atomic<int> caught_{0};
  std::thread thread_;
};

}  // namespace hdr::cli

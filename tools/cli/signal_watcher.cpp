#include "tools/cli/signal_watcher.h"

#include <fmt/format.h>

#include <ctime>

namespace hdr::cli {

SignalWatcher::SignalWatcher(std::string command, std::function<void(int caught)> poll)
    : command_(std::move(command)), poll_(std::move(poll)) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  thread_ = std::thread([this] { watch(); });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  thread_.join();
}

void SignalWatcher::watch() {
  const timespec interval{0, 50'000'000};
  while (!done_) {
    const int sig = sigtimedwait(&signals_, nullptr, &interval);
    if ((sig == SIGINT || sig == SIGTERM) && caught_ != 0) {
      fmt::print(stderr, "{}: second signal: exiting at once\n", command_);
      // Die of the signal itself, as a shell expects of a process it interrupted.
      signal(sig, SIG_DFL);
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, sig);
      pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
      raise(sig);
    }
    if (sig == SIGINT || sig == SIGTERM) caught_ = sig;
    poll_(caught_);
  }
}

}  // namespace hdr::cli

// `hdr serve` as a child process for tests: started with --port 0, its port read from the line it
// prints, its output (stdout and stderr) collected, stopped with a signal and its exit code kept.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hdr::test {

class ServerProcess {
 public:
  // Runs HDR_EXE serve MODEL --port 0 EXTRA...; throws with the output when no port shows within
  // `wait` (model loading included) or the server exits first.
  explicit ServerProcess(const std::string& model, std::vector<std::string> extra = {},
                         std::chrono::seconds wait = std::chrono::seconds(60)) {
    std::vector<std::string> args = {HDR_EXE, "serve", model, "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;  // built before fork: the child only calls async-signal-safe functions
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) {
        std::lock_guard lock(mutex_);
        output_.append(buf, size_t(n));
        changed_.notify_all();
      }
      close(fd);
      std::lock_guard lock(mutex_);
      closed_ = true;
      changed_.notify_all();
    });
    const std::string listening = "listening on http://";
    std::unique_lock lock(mutex_);
    const auto whole_line = [&] {
      const size_t at = output_.find(listening);
      return at != std::string::npos && output_.find('\n', at) != std::string::npos;
    };
    changed_.wait_for(lock, wait, [&] { return whole_line() || closed_; });
    if (!whole_line()) {
      const std::string out = output_;
      lock.unlock();
      stop(SIGKILL);
      throw std::runtime_error("hdr serve did not start listening:\n" + out);
    }
    const size_t host = output_.find(listening) + listening.size();  // "127.0.0.1:PORT ..."
    port_ = std::atoi(output_.c_str() + output_.find(':', host) + 1);
  }
  ~ServerProcess() { stop(SIGKILL); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string output() const {
    std::lock_guard lock(mutex_);
    return output_;
  }
  // Sends `signal` and waits for the process (10 s, then SIGKILL); returns its exit code (128 +
  // signal if killed by one).
  int stop(int signal = SIGTERM) {
    if (pid_ > 0) {
      kill(pid_, signal);
      int status = 0;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
    }
    if (reader_.joinable()) reader_.join();
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0, exit_code_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string output_;
  bool closed_ = false;
};

}  // namespace hdr::test

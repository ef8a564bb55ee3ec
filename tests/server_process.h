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
  // `wait` (model loading included).
  explicit ServerProcess(const std::string& model, std::vector<std::string> extra = {},
                         std::chrono::seconds wait = std::chrono::seconds(60)) {
    std::vector<std::string> args = {HDR_EXE, "serve", model, "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
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
    });
    std::unique_lock lock(mutex_);
    const std::string listening = "listening on http://127.0.0.1:";
    changed_.wait_for(lock, wait, [&] { return output_.find(listening) != std::string::npos; });
    const size_t at = output_.find(listening);
    if (at == std::string::npos) {
      lock.unlock();
      const std::string out = output();
      stop(SIGKILL);
      throw std::runtime_error("hdr serve did not start listening:\n" + out);
    }
    port_ = std::atoi(output_.c_str() + at + listening.size());
  }
  ~ServerProcess() { stop(SIGKILL); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string output() const {
    std::lock_guard lock(mutex_);
    return output_;
  }
  // Sends `signal` and waits for the process; returns its exit code (128 + signal if killed).
  int stop(int signal = SIGTERM) {
    if (pid_ > 0) {
      kill(pid_, signal);
      int status = 0;
      waitpid(pid_, &status, 0);
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
};

}  // namespace hdr::test

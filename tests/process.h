// Runs a shell command in tests and captures its exit code and combined output (or stdout alone,
// to check that a --json command prints nothing else there).
#pragma once

#include <fmt/format.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace hdr::test {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together, or stdout alone
};

enum class Capture { kStdoutAndStderr, kStdoutOnly };

inline ProcessResult run_command(const std::string& command, Capture capture = Capture::kStdoutAndStderr) {
  ProcessResult r;
  FILE* pipe = popen((command + (capture == Capture::kStdoutOnly ? " 2>/dev/null" : " 2>&1")).c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The hdr binary under test with `args`, as a shell command. HDR_EXE is its path from the source
// root, where the tests run (tests/CMakeLists.txt).
inline std::string hdr_command(const std::string& args) { return fmt::format("{} {}", HDR_EXE, args); }

}  // namespace hdr::test

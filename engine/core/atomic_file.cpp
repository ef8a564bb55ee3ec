#include "engine/core/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace hdr {
namespace fs = std::filesystem;
namespace {

// Writes all of `bytes` to fd; returns 0 or the errno of the failing write.
int write_all(int fd, std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += size_t(n);
  }
  return 0;
}

// Makes the rename itself durable; a failure here loses nothing already written, so it is ignored.
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const fs::path& path, std::span<const uint8_t> bytes, Durability durability) {
  // Unique within the process (a counter) and between processes (the pid); O_EXCL makes sure.
  static std::atomic<uint64_t> serial{0};
  const fs::path tmp = fmt::format("{}.tmp.{}.{}", path.string(), ::getpid(), serial++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    throw std::runtime_error(fmt::format("{}: cannot create {}: {}", path.string(), tmp.filename().string(),
                                         std::generic_category().message(err)));
  }
  int err = write_all(fd, bytes);
  const char* step = "write";
  if (err == 0 && durability == Durability::kDurable && ::fsync(fd) != 0) {
    err = errno;
    step = "fsync";
  }
  if (::close(fd) != 0 && err == 0) {
    err = errno;
    step = "close";
  }
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    step = "rename";
  }
  if (err != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: {} failed: {} (the previous file, if any, is kept)", path.string(), step,
                                         std::generic_category().message(err)));
  }
  if (durability == Durability::kDurable) sync_directory(path.parent_path());
}

}  // namespace hdr

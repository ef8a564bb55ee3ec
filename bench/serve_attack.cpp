// The attacks of issue 27's rows D and E against a running `hdr serve`, for
// bench/serve_attack_bench.sh to measure valid traffic under them:
//   hdr_serve_attack PORT SECONDS [--slowloris N] [--huge-png CLIENTS]
// Slowloris: N connections on the loopback, each sending its request head one byte per second
// and reopening when the server closes it. Huge PNG: CLIENTS clients in a loop posting a
// 6000 x 6000 PNG (36 megapixels in a 152 KB file). Prints what the server did with them.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/image_io.h"

namespace {

using Clock = std::chrono::steady_clock;

int open_connection(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval wait{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

// N connections sending a head a byte a second, reopened when closed; counts the closes.
void slowloris(int port, int n, Clock::time_point until, std::atomic<long>& closed) {
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  std::vector<int> fds(size_t(n), -1);
  std::vector<size_t> sent(size_t(n), 0);
  while (Clock::now() < until) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i] < 0) fds[i] = open_connection(port), sent[i] = 0;
      if (fds[i] < 0) continue;
      const char byte = sent[i] < head.size() ? head[sent[i]] : 'a';
      char ignored;
      if (send(fds[i], &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1 ||
          recv(fds[i], &ignored, 1, MSG_DONTWAIT | MSG_PEEK) >= 0) {
        close(fds[i]);
        fds[i] = -1;
        ++closed;
      }
      ++sent[i];
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  for (const int fd : fds)
    if (fd >= 0) close(fd);
}

// Posts `request` in a loop; counts the answers by their first status digit.
void flood(int port, const std::string& request, Clock::time_point until, std::atomic<long>& refused,
           std::atomic<long>& other) {
  while (Clock::now() < until) {
    const int fd = open_connection(port);
    if (fd < 0) continue;
    for (size_t at = 0; at < request.size();) {
      const ssize_t n = send(fd, request.data() + at, request.size() - at, MSG_NOSIGNAL);
      if (n <= 0) break;
      at += size_t(n);
    }
    char status[16] = {};
    const ssize_t got = recv(fd, status, sizeof status - 1, MSG_WAITALL);
    ++(got > 9 && status[9] == '4' ? refused : other);
    close(fd);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: hdr_serve_attack PORT SECONDS [--slowloris N] [--huge-png CLIENTS]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const auto until = Clock::now() + std::chrono::seconds(std::atoi(argv[2]));
  int slow = 0, huge = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string option = argv[i];
    if (option == "--slowloris")
      slow = std::atoi(argv[i + 1]);
    else if (option == "--huge-png")
      huge = std::atoi(argv[i + 1]);
    else {
      fmt::print(stderr, "hdr_serve_attack: unknown option {}\n", option);
      return 2;
    }
  }
  std::atomic<long> slow_closed{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  if (slow > 0) threads.emplace_back([&] { slowloris(port, slow, until, slow_closed); });
  if (huge > 0) {
    const std::vector<uint8_t> png = hdr::encode_png(std::vector<uint8_t>(size_t(6000) * 6000, 0), 6000, 6000);
    const std::string request = fmt::format("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                            "image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                            png.size()) +
                                std::string(png.begin(), png.end());
    for (int k = 0; k < huge; ++k) threads.emplace_back([&, request] { flood(port, request, until, refused, other); });
  }
  for (auto& t : threads) t.join();
  fmt::print(
      "attacks: {} slow connections (closed by the server {} times); {} huge-PNG clients ({} refused with 4xx, {} "
      "other)\n",
      slow, slow_closed.load(), huge, refused.load(), other.load());
  return 0;
}

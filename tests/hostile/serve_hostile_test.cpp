// `hdr serve` against a hostile client on the loopback (CTest label `hostile`): each test is a
// row of issue 27's table that the server now refuses cheaply, sent over raw sockets where a
// well-behaved client library would not send it. Each checks the status, that /health still
// answers within 100 ms afterwards, and, where the row was about memory, the server's resident
// size (/proc/PID/status) against a stated bound.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/image_io.h"
#include "tests/mnist_test_set.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "tests/trained_model.h"

namespace hdr {
namespace {

using Json = nlohmann::json;

test::ServerProcess start_server(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--device", "cpu", "--workers", "1", "--timeout", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::ServerProcess(test::tutorial_model().string(), args);
}

// One server for the rows that do not measure memory, started on first use.
test::ServerProcess& server() {
  static test::ServerProcess process = start_server();
  return process;
}

struct Answer {
  int status = -1;   // -1: no status line came back
  std::string text;  // everything the server sent before it closed or the wait ended
};

// A connection to the server on the loopback whose reads and writes give up after `wait_s`,
// from the loopback address `from` (another client address: 127.0.0.2); -1 when it could not
// connect.
int connect_to(int port, int wait_s, const char* from = "127.0.0.1") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in source{};
  source.sin_family = AF_INET;
  inet_pton(AF_INET, from, &source.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
    close(fd);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval wait{wait_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  close(fd);
  return -1;
}

// Sends `request` on a new connection, half-closes it when asked, and reads until the server
// closes the connection or `wait_s` passes.
Answer send_request(int port, const std::string& request, bool half_close = false, int wait_s = 10,
                    const char* from = "127.0.0.1") {
  Answer a;
  const int fd = connect_to(port, wait_s, from);
  if (fd >= 0) {
    // The server may answer and close before it has read everything: a failed send is fine.
    for (size_t sent = 0; sent < request.size();) {
      const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += size_t(n);
    }
    if (half_close) shutdown(fd, SHUT_WR);
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) a.text.append(buf, size_t(n));
    close(fd);
  }
  if (a.text.starts_with("HTTP/1.")) a.status = std::atoi(a.text.c_str() + 9);
  return a;
}

// The request head for `method path` with `headers` (each "Name: value"), HTTP/1.1, closing.
std::string head(const std::string& method, const std::string& path, const std::vector<std::string>& headers) {
  std::string out = method + " " + path + " HTTP/1.1\r\n";
  for (const std::string& h : headers) out += h + "\r\n";
  return out + "Connection: close\r\n\r\n";
}

// Milliseconds /health takes to answer 200 on a fresh connection (a large value when it does not).
double health_ms(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(2, 0);
  const auto start = std::chrono::steady_clock::now();
  const auto r = c.Get("/health");
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return r && r->status == 200 ? ms : 1e9;
}

void expect_health_prompt(int port) { EXPECT_LT(health_ms(port), 100.0) << "/health was slow or did not answer"; }

// The server's resident and peak resident size, MiB.
double status_mib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(field + ":")) return std::atof(line.c_str() + field.size() + 1) / 1024.0;
  return -1;
}

// A valid KServe infer body of about `mib` MiB: MNIST test digits made black and white, two bytes
// of JSON per value ("0," or "1,"), the densest a client can send: the parsed document takes
// about eight times that, more while it grows.
std::string infer_body(double mib) {
  const int n = std::max(1, int(mib * 1024 * 1024 / (2 * 784)));
  std::string data;
  data.reserve(size_t(n) * 2 * 784);
  for (int i = 0; i < n; ++i)
    for (uint8_t v : test::mnist_digit(i % 100)) data += v >= 128 ? "1," : "0,";
  data.pop_back();
  return R"({"inputs": [{"name": "input", "shape": [)" + std::to_string(n) +
         R"(, 1, 28, 28], "datatype": "FP32", "data": [)" + data + "]}]}";
}

std::string post(const std::string& path, const std::string& type, const std::string& body,
                 std::vector<std::string> headers = {}) {
  headers.insert(headers.begin(),
                 {"Host: x", "Content-Type: " + type, "Content-Length: " + std::to_string(body.size())});
  return head("POST", path, headers) + body;
}

// The head of a POST with a body of `length` bytes (not sent: the refusals below come from the
// head; a server that closes with a body unread resets the connection, which could eat the answer).
std::string post_head(const std::string& path, const std::string& type, size_t length,
                      std::vector<std::string> headers = {}) {
  headers.insert(headers.begin(), {"Host: x", "Content-Type: " + type, "Content-Length: " + std::to_string(length)});
  return head("POST", path, headers);
}

// Row A: a 38 KB gzip body (one that would inflate to a 37 MiB infer request) is refused by its
// header: 415 before the body is read, and the server's size does not move.
TEST(ServeHostile, AGzipBodyIsRefusedBeforeItIsInflated) {
  const double before = status_mib(server().pid(), "VmRSS");
  const Answer a = send_request(server().port(), post_head("/v2/models/cnn_tutorial/infer", "application/json", 38'000,
                                                           {"Content-Encoding: gzip"}));
  EXPECT_EQ(a.status, 415) << a.text;
  EXPECT_NE(a.text.find("Content-Encoding 'gzip' is not accepted"), std::string::npos) << a.text;
  EXPECT_LT(status_mib(server().pid(), "VmRSS") - before, 16.0);
  expect_health_prompt(server().port());
}

// Row B: a chunked body is counted as it arrives and cut at --max-body (413, connection
// closed) while the server's size stays put; a POST with no length at all is refused by its head
// (411), and answered although the client half-closed after sending 17 MiB.
TEST(ServeHostile, BChunkedBodiesAreCutAtTheLimitAndUnsizedOnesRefused) {
  test::ServerProcess own = start_server();
  const std::vector<uint8_t> png = encode_png(test::mnist_digit(0), 28, 28);
  std::string small_chunked;
  for (size_t at = 0; at < png.size(); at += 100) {
    const size_t n = std::min<size_t>(100, png.size() - at);
    small_chunked += fmt::format("{:x}\r\n", n) + std::string(png.begin() + long(at), png.begin() + long(at + n)) +
                     "\r\n";
  }
  const Answer ok = send_request(
      own.port(), head("POST", "/predict", {"Host: x", "Content-Type: image/png", "Transfer-Encoding: chunked"}) +
                      small_chunked + "0\r\n\r\n");
  EXPECT_EQ(ok.status, 200) << ok.text;

  const double before = status_mib(own.pid(), "VmRSS");
  const std::string chunk = fmt::format("{:x}\r\n{}\r\n", 1 << 20, std::string(1 << 20, 'x'));
  std::string huge = head("POST", "/predict", {"Host: x", "Content-Type: image/png", "Transfer-Encoding: chunked"});
  for (int i = 0; i < 64; ++i) huge += chunk;  // 64 MiB, never ended
  const Answer cut = send_request(own.port(), huge);
  EXPECT_EQ(cut.status, 413) << cut.text.substr(0, 300);
  EXPECT_NE(cut.text.find("over the limit of 16 MiB"), std::string::npos) << cut.text.substr(0, 300);
  EXPECT_LT(status_mib(own.pid(), "VmRSS") - before, 40.0) << "the 16 MiB that were read, and no more";

  const Answer unsized = send_request(
      own.port(), "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n\r\n" + std::string(17 << 20, 'x'),
      /*half_close=*/true);
  EXPECT_EQ(unsized.status, 411) << unsized.text.substr(0, 300);
  expect_health_prompt(own.port());
}

// Row C: concurrent large infer requests are parsed one worker's turn at a time (--workers 1),
// so the peak size grows by the bodies and one parsed document, not by one document each.
TEST(ServeHostile, CConcurrentLargeInferRequestsAreParsedInTheWorkersTurn) {
  test::ServerProcess own = start_server();
  const std::string request = post("/v2/models/cnn_tutorial/infer", "application/json", infer_body(8));
  const double before = status_mib(own.pid(), "VmRSS");
  std::vector<std::thread> clients;
  std::vector<int> statuses(4, -1);
  for (int k = 0; k < 4; ++k)
    clients.emplace_back([&, k] { statuses[size_t(k)] = send_request(own.port(), request, false, 60).status; });
  for (auto& t : clients) t.join();
  EXPECT_EQ(statuses, std::vector<int>(4, 200));
  // Four 8 MiB bodies held by their connections and one parse at a time: measured about 150 MiB
  // above the start; one document per request at once reached 4 x 8 MiB x 19 and more.
  const double grown = status_mib(own.pid(), "VmHWM") - before;
  RecordProperty("peak_growth_mib", std::to_string(grown));
  EXPECT_LT(grown, 300.0);
  expect_health_prompt(own.port());
}

// Row D: slowloris. 100 connections sending their head a byte at a time cannot hold the server:
// /health answers within 100 ms on a new connection throughout, and each slow connection is
// closed once --timeout (2 s here) has passed since it began its head, however steadily it
// sends. With the connection limits lowered below the attackers' count, the server closes the
// connections that have waited longest for a head to make room, so /health still gets in.
TEST(ServeHostile, DSlowClientsCannotHoldTheServer) {
  for (const bool limited : {false, true}) {
    test::ServerProcess own = limited ? start_server({"--connections", "40", "--connections-per-client", "20"})
                                      : start_server();
    std::vector<int> slow;
    for (int i = 0; i < 100; ++i)
      if (const int fd = connect_to(own.port(), 1); fd >= 0) slow.push_back(fd);
    ASSERT_EQ(slow.size(), 100u);
    const std::string opening = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    std::vector<size_t> sent(slow.size(), 0);
    std::vector<bool> open(slow.size(), true);
    double slowest_health = 0;
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3500)) {
      for (size_t i = 0; i < slow.size(); ++i) {
        if (!open[i]) continue;
        const char byte = sent[i] < opening.size() ? opening[sent[i]] : 'a';
        char ignored;
        // Closed by the server: the send fails, or a read sees the end (or an answer).
        if (send(slow[i], &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1 ||
            recv(slow[i], &ignored, 1, MSG_DONTWAIT | MSG_PEEK) >= 0)
          open[i] = false;
        ++sent[i];
      }
      slowest_health = std::max(slowest_health, health_ms(own.port()));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const auto still_open = std::count(open.begin(), open.end(), true);
    for (const int fd : slow) close(fd);
    EXPECT_LT(slowest_health, 100.0) << (limited ? "with lowered limits" : "");
    EXPECT_EQ(still_open, 0) << "slow connections still open after 3.5 s with --timeout 2";
    expect_health_prompt(own.port());
  }
}

// Row D, bodies: connections that send a body slowly, or a body on a GET (which only POST
// takes), cannot fill the connection limit either: a GET with a body is refused by its head,
// and a new client closes the connection that has been reading a body the longest.
TEST(ServeHostile, DSlowBodiesCannotFillTheConnectionLimit) {
  test::ServerProcess own = start_server({"--connections", "4"});
  const Answer get_body = send_request(own.port(), "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nab");
  EXPECT_EQ(get_body.status, 400) << get_body.text;
  EXPECT_NE(get_body.text.find("a GET request takes no body here"), std::string::npos) << get_body.text;
  std::vector<int> slow;
  for (int i = 0; i < 4; ++i) {
    const int fd = connect_to(own.port(), 1);
    ASSERT_GE(fd, 0);
    const std::string head = post_head("/predict", "image/png", 1'000'000) + "ab";
    ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), ssize_t(head.size()));
    slow.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  expect_health_prompt(own.port());
  for (const int fd : slow) close(fd);
}

// Row E: a 6000 x 6000 PNG (36 megapixels in a small file) sent by 4 clients in a loop took
// 0.7-1.9 s of a worker to decode each time under the old 40 MP cap. Over --max-megapixels (16)
// it is refused by its header; valid requests and /health stay fast meanwhile (2 s of attack).
TEST(ServeHostile, EHugeImagesAreRefusedByTheirHeaderWhileOthersAreServed) {
  const std::vector<uint8_t> huge = encode_png(std::vector<uint8_t>(size_t(6000) * 6000, 0), 6000, 6000);
  const std::string request = post("/predict", "image/png", std::string(huge.begin(), huge.end()));
  const int port = server().port();
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0}, other{0};
  std::vector<std::thread> attackers;
  for (int k = 0; k < 4; ++k)
    attackers.emplace_back([&] {
      while (!stop) (send_request(port, request).status == 400 ? refused : other)++;
    });
  const std::vector<uint8_t> png = encode_png(test::mnist_digit(0), 28, 28);
  httplib::Client c("127.0.0.1", port);
  double slowest_ms = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int i = 0; i < 20 || std::chrono::steady_clock::now() < until; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = c.Post("/predict", std::string(png.begin(), png.end()), "image/png");
    slowest_ms = std::max(slowest_ms,
                          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    EXPECT_TRUE(r && r->status == 200);
    expect_health_prompt(port);
  }
  stop = true;
  for (auto& t : attackers) t.join();
  EXPECT_GT(refused.load(), 20) << "a " << huge.size() << "-byte PNG";
  EXPECT_EQ(other.load(), 0);
  EXPECT_LT(slowest_ms, 100.0) << "a valid request waited behind the decoding";
}

// Row E, second half: one client's queue of heavy requests does not take every worker's turn.
// With one worker, a client at 127.0.0.2 queues 8 large infer requests; a /predict from
// 127.0.0.1 sent after them waits for at most the one running and the next in turn, not all 8.
TEST(ServeHostile, EOneHeavyClientCannotTakeEveryWorkersTurn) {
  test::ServerProcess own = start_server();
  const std::string heavy = post("/v2/models/cnn_tutorial/infer", "application/json", infer_body(1.5));
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  const auto start = Clock::now();
  std::atomic<int> answered{0};
  std::vector<std::thread> queue;
  for (int k = 0; k < 8; ++k)
    queue.emplace_back([&] {
      EXPECT_EQ(send_request(own.port(), heavy, false, 60, "127.0.0.2").status, 200);
      ++answered;
    });
  // Once the first heavy answer is back, the other 7 have long been read and queued.
  while (answered == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::vector<uint8_t> png = encode_png(test::mnist_digit(0), 28, 28);
  const auto light_start = Clock::now();
  const int status =
      send_request(own.port(), post("/predict", "image/png", std::string(png.begin(), png.end()))).status;
  const double light = seconds_since(light_start);
  for (auto& t : queue) t.join();
  const double job = seconds_since(start) / 8;
  EXPECT_EQ(status, 200);
  RecordProperty("heavy_request_s", std::to_string(job));
  RecordProperty("light_request_s", std::to_string(light));
  // In turn: after the running heavy request, about 1 job; first come, first served: about 7.
  EXPECT_LT(light, 3.5 * job) << "a heavy request took " << job << " s of the worker";
}

// Row F: a Range header (here 2,700 ranges) is ignored, as HTTP allows: the page once, not a
// 50 MB 206 of 2,701 copies.
TEST(ServeHostile, FRangesAreIgnored) {
  std::string ranges = "Range: bytes=0-";
  for (int i = 0; i < 2700; ++i) ranges += ",0-";
  const Answer a = send_request(server().port(), head("GET", "/", {"Host: x", ranges}));
  EXPECT_EQ(a.status, 200) << a.text.substr(0, 200);
  EXPECT_LT(a.text.size(), size_t(200'000));
  expect_health_prompt(server().port());
}

// Row G: a head over the limits is refused as it is read, not after buffering it: a 64 MiB
// header line and a million headers (431), a 64 MiB URL (414), each at once and without
// growing the server.
TEST(ServeHostile, GOversizedHeadsAreRefusedWhileTheyAreRead) {
  test::ServerProcess own = start_server();
  const double before = status_mib(own.pid(), "VmRSS");
  struct Row {
    std::string request;
    int status;
  };
  std::string million;
  million.reserve(12'000'000);
  for (int i = 0; i < 1'000'000; ++i) million += "X-a: b\r\n";
  const std::vector<Row> rows = {
      {"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(64 << 20, 'a') + "\r\n\r\n", 431},
      {"GET /" + std::string(64 << 20, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
      {"GET /health HTTP/1.1\r\nHost: x\r\n" + million + "\r\n", 431}};
  for (const Row& row : rows) {
    const auto start = std::chrono::steady_clock::now();
    const Answer a = send_request(own.port(), row.request);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(a.status, row.status) << a.text.substr(0, 300);
    EXPECT_LT(seconds, 3.0);
    expect_health_prompt(own.port());
  }
  EXPECT_LT(status_mib(own.pid(), "VmHWM") - before, 16.0) << "a head was buffered";
  // A head within the limits but with more than 100 header lines.
  std::string many = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) many += "X-a: b\r\n";
  const Answer a = send_request(own.port(), many + "\r\n");
  EXPECT_EQ(a.status, 431) << a.text;
  EXPECT_NE(a.text.find("more than 100 header lines"), std::string::npos) << a.text;
}

// Row I: four requests sent in one write on one connection are answered, in order.
TEST(ServeHostile, IPipelinedRequestsAreEachAnsweredInOrder) {
  const std::string keep = "GET {} HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string request = fmt::format(fmt::runtime(keep), "/v2/health/live") +
                              fmt::format(fmt::runtime(keep), "/nope") +
                              fmt::format(fmt::runtime(keep), "/v2/health/ready") + head("GET", "/v2", {"Host: x"});
  const Answer a = send_request(server().port(), request);
  std::vector<size_t> at;
  for (const char* expected : {"HTTP/1.1 200", "{\"live\":true}", "HTTP/1.1 404", "no such endpoint: GET /nope",
                               "HTTP/1.1 200", "{\"ready\":true}", "HTTP/1.1 200", "\"name\":\"hdr\""})
    at.push_back(a.text.find(expected, at.empty() ? 0 : at.back() + 1));
  EXPECT_TRUE(std::is_sorted(at.begin(), at.end()) && at.back() != std::string::npos) << a.text;
  expect_health_prompt(server().port());
}

// Row J: a client that half-closes its side after a valid request still gets the answer.
TEST(ServeHostile, JAHalfClosedClientGetsItsAnswer) {
  const std::vector<uint8_t> png = encode_png(test::mnist_digit(0), 28, 28);
  const Answer a = send_request(server().port(), post("/predict", "image/png", std::string(png.begin(), png.end())),
                                true);
  EXPECT_EQ(a.status, 200) << a.text;
  EXPECT_NE(a.text.find("\"prediction\":7"), std::string::npos) << a.text;
  const Answer b = send_request(server().port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", true);
  EXPECT_EQ(b.status, 200) << b.text;
  expect_health_prompt(server().port());
}

// Row H: after five large infer requests in a row the server gives the memory back.
TEST(ServeHostile, HMemoryReturnsAfterLargeRequests) {
  test::ServerProcess own = start_server();
  const std::string request = post("/v2/models/cnn_tutorial/infer", "application/json", infer_body(8));
  ASSERT_EQ(send_request(own.port(), post("/predict", "image/png", "x")).status, 400);  // the first request's set-up
  const double before = status_mib(own.pid(), "VmRSS");
  for (int k = 0; k < 5; ++k) ASSERT_EQ(send_request(own.port(), request, false, 60).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double kept = status_mib(own.pid(), "VmRSS") - before;
  RecordProperty("kept_mib", std::to_string(kept));
  EXPECT_LT(kept, 40.0) << "peak " << status_mib(own.pid(), "VmHWM") << " MiB";
  expect_health_prompt(own.port());
}

// Row K: a path holding a newline and a forged log line stays on its own line, escaped.
TEST(ServeHostile, KClientTextCannotForgeAnAccessLogLine) {
  test::ServerProcess own = start_server();
  const Answer a = send_request(own.port(),
                                head("GET", "/x%0a2026-12-06T00:00:00Z%2010.9.9.9%20%22GET%20/admin%22", {"Host: x"}));
  EXPECT_EQ(a.status, 404) << a.text;
  own.stop(SIGTERM);
  const std::string log = own.output();
  EXPECT_EQ(log.find("\n2026-12-06T00:00:00Z 10.9.9.9"), std::string::npos) << log;
  EXPECT_NE(log.find("\"GET /x\\x0a2026-12-06T00:00:00Z 10.9.9.9 \\x22GET /admin\\x22\" 404"), std::string::npos)
      << log;
}

// Row L: ambiguous requests are refused with 400 naming what is wrong, and so are KServe values
// outside the input's documented range [0, 1].
TEST(ServeHostile, LAmbiguousRequestsAndOutOfRangeValuesAreRefused) {
  const int port = server().port();
  const std::vector<uint8_t> png = encode_png(test::mnist_digit(0), 28, 28);
  const std::string image(png.begin(), png.end());
  const std::string boundary = "hostileboundary";
  const std::string part = "--" + boundary +
                           "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
                           "Content-Type: image/png\r\n\r\n" +
                           image + "\r\n";
  const Answer two_parts = send_request(
      port, post("/predict", "multipart/form-data; boundary=" + boundary, part + part + "--" + boundary + "--\r\n"));
  EXPECT_EQ(two_parts.status, 400) << two_parts.text;
  EXPECT_NE(two_parts.text.find("2 fields 'image'"), std::string::npos) << two_parts.text;

  const Answer two_lengths = send_request(
      port, head("POST", "/predict",
                 {"Host: x", "Content-Type: image/png", "Content-Length: " + std::to_string(image.size()),
                  "Content-Length: 5"}));
  EXPECT_EQ(two_lengths.status, 400) << two_lengths.text;
  EXPECT_NE(two_lengths.text.find("more than one Content-Length"), std::string::npos) << two_lengths.text;

  const Answer length_and_chunks = send_request(
      port, head("POST", "/predict",
                 {"Host: x", "Content-Type: image/png", "Content-Length: 5", "Transfer-Encoding: chunked"}));
  EXPECT_EQ(length_and_chunks.status, 400) << length_and_chunks.text;

  const Answer no_host = send_request(port, head("GET", "/health", {}));
  EXPECT_EQ(no_host.status, 400) << no_host.text;
  EXPECT_NE(no_host.text.find("no Host header"), std::string::npos) << no_host.text;

  for (const char* value : {"3e38", "-3e38", "1.5", "-0.001"}) {
    std::string data;
    for (int i = 0; i < 784; ++i) data += i == 100 ? value : "0.5", data += ',';
    data.pop_back();
    const Answer a = send_request(port,
                                  post("/v2/models/cnn_tutorial/infer", "application/json",
                                       R"({"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", )"
                                       R"("data": [)" +
                                           data + "]}]}"));
    EXPECT_EQ(a.status, 400) << value << ": " << a.text;
    EXPECT_NE(a.text.find("value 100 of data"), std::string::npos) << a.text;
    EXPECT_NE(a.text.find("outside the input's range [0, 1]"), std::string::npos) << a.text;
  }
  expect_health_prompt(port);
}

// --token: every endpoint but the page and the health checks needs the bearer token; a missing
// or wrong one is 401 with WWW-Authenticate.
TEST(ServeHostile, TokenIsRequiredOnEveryProtectedEndpoint) {
  const test::TempDir dir;
  const std::string token = "hostile-test-token-0123456789";
  std::ofstream(dir / "token") << token << "\n";
  test::ServerProcess own = start_server({"--token", (dir / "token").string()});
  const std::vector<uint8_t> png = encode_png(test::mnist_digit(0), 28, 28);
  const std::string image(png.begin(), png.end());
  const std::string infer =
      R"({"inputs": [{"name": "input", "shape": [0, 1, 28, 28], "datatype": "FP32", "data": []}]})";
  struct Call {
    std::string method, path, type, body;
  };
  const std::vector<Call> protected_calls = {{"POST", "/predict", "image/png", image},
                                             {"GET", "/v2", "", ""},
                                             {"GET", "/v2/models/cnn_tutorial", "", ""},
                                             {"GET", "/v2/models/cnn_tutorial/ready", "", ""},
                                             {"POST", "/v2/models/cnn_tutorial/infer", "application/json", infer},
                                             {"GET", "/nope", "", ""}};
  auto request = [](const Call& c, const std::string& authorization) {
    std::vector<std::string> headers = {"Host: x"};
    if (!authorization.empty()) headers.push_back("Authorization: " + authorization);
    if (c.method == "POST")
      headers.insert(headers.end(), {"Content-Type: " + c.type, "Content-Length: " + std::to_string(c.body.size())});
    return head(c.method, c.path, headers) + c.body;
  };
  for (const Call& c : protected_calls) {
    for (const std::string& wrong :
         {std::string(), "Bearer " + token.substr(1), "Bearer " + token + "x", "Basic " + token, "bearer " + token}) {
      const Answer a = send_request(own.port(), request(c, wrong));
      EXPECT_EQ(a.status, 401) << c.method << " " << c.path << " with '" << wrong << "': " << a.text;
      EXPECT_NE(a.text.find("WWW-Authenticate: Bearer"), std::string::npos) << a.text;
    }
    const Answer ok = send_request(own.port(), request(c, "Bearer " + token));
    EXPECT_EQ(ok.status, c.path == "/nope" ? 404 : 200) << c.method << " " << c.path << ": " << ok.text;
  }
  for (const char* open : {"/", "/health", "/v2/health/live", "/v2/health/ready"})
    EXPECT_EQ(send_request(own.port(), head("GET", open, {"Host: x"})).status, 200) << open;
  expect_health_prompt(own.port());
}

TEST(ServeHostile, ListeningBeyondTheLoopbackWithoutATokenWarns) {
  test::ServerProcess own(test::tutorial_model().string(), {"--device", "cpu", "--host", "0.0.0.0", "--quiet"});
  own.stop(SIGTERM);
  EXPECT_NE(own.output().find("warning: listening on 0.0.0.0 without --token"), std::string::npos) << own.output();
  test::ServerProcess loopback(test::tutorial_model().string(), {"--device", "cpu", "--quiet"});
  loopback.stop(SIGTERM);
  EXPECT_EQ(loopback.output().find("warning"), std::string::npos) << loopback.output();
}

}  // namespace
}  // namespace hdr

// serve's HTTP/1.1 server, on Boost.Beast's parser: every limit applies while bytes arrive.
//   - The head (request line and headers) must arrive whole within `head_timeout` of the
//     connection asking for it (not per read: a client sending a byte a second is cut off), and
//     within `max_head` bytes: 414 when the request line alone is longer, else 431; at most
//     `max_headers` header lines (431).
//   - The body, sized or chunked, is counted as it arrives and cut at `max_body` (413, connection
//     closed), within `body_timeout`. A Content-Length over the limit is refused before any of
//     the body is read.
//   - At most `max_connections` connections in all and `max_per_client` per client (an IPv4
//     address, an IPv6 /64). When one more arrives, the connection that has waited longest for a
//     request head (idle keep-alive or slow client) is closed to make room, failing that the one
//     reading a body the longest, so that a new client, such as a health check, is served while
//     slow clients fill the limit; when every connection is busy with a handler or an answer the
//     new one is closed.
//   - Requests on one connection are answered in order (pipelining: bytes past one request stay
//     in the connection's buffer for the next), and a client that half-closes its side after a
//     request still gets the answer.
// One thread does all the I/O and runs the cheap requests (`Handlers::in_worker` false) itself;
// the others run on `workers` threads, taken in turn by client, so that one client's
// queue of heavy requests cannot take every worker while another waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tools/cli/http_message.h"

namespace hdr::cli {

struct HttpLimits {
  size_t max_body = 16 << 20;
  uint32_t max_head = 16 << 10;
  int max_headers = 100;
  std::chrono::milliseconds head_timeout{5000}, body_timeout{30000}, write_timeout{5000};
  int max_connections = 256;
  int max_per_client = 64;
};

struct HttpHandlers {
  // Sees each request once its head is read, before its body is: true when it answered (the
  // connection then closes, the body unread).
  std::function<bool(const HttpRequest&, HttpResponse&)> screen;
  // Answers a request whose body is read; must not throw.
  std::function<void(HttpRequest&, HttpResponse&)> handle;
  // True for a request to run on a worker thread rather than the I/O thread.
  std::function<bool(const HttpRequest&)> in_worker;
  // Fills the answer to a request the server refuses itself (a head over its limits, a
  // malformed one, a body over the limit) before the routes see it.
  std::function<void(const HttpRequest&, HttpResponse&, int status, const std::string& message)> error;
  // Called once per answer, with the milliseconds from the head's arrival to the answer.
  std::function<void(const HttpRequest&, const HttpResponse&, double ms)> log;
};

class HttpServer {
 public:
  HttpServer(HttpLimits limits, HttpHandlers handlers, int workers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (port 0: any free port); returns the port. Throws std::runtime_error.
  int listen(const std::string& host, int port);
  // Serves until stop(): requests in flight are answered, then every connection closes.
  void run();
  // Requests whose head was read and whose answer is not yet written.
  int in_flight() const;
  // From any thread.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hdr::cli

// serve's HTTP server on Boost.Beast; what it guarantees is in http_server.h.
#include "tools/cli/http_server.h"

#include <fmt/format.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace hdr::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Worker jobs, taken in turn by client address: a client with ten requests queued gets one
// worker's turn, then the next client does.
class FairQueue {
 public:
  void push(const std::string& client, std::function<void()> job) {
    {
      const std::lock_guard lock(mutex_);
      auto& mine = jobs_[client];
      if (mine.empty()) turns_.push_back(client);
      mine.push_back(std::move(job));
    }
    ready_.notify_one();
  }

  // The next job; empty once the queue is closed and empty.
  std::function<void()> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !turns_.empty(); });
    if (turns_.empty()) return {};
    const std::string client = std::move(turns_.front());
    turns_.pop_front();
    auto found = jobs_.find(client);
    std::function<void()> job = std::move(found->second.front());
    found->second.pop_front();
    if (found->second.empty())
      jobs_.erase(found);
    else
      turns_.push_back(client);
    return job;
  }

  void close() {
    {
      const std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::map<std::string, std::deque<std::function<void()>>> jobs_;
  std::deque<std::string> turns_;
  bool closed_ = false;
};

// Who a connection counts against in the per-client limit and the workers' turns: its IPv4
// address, or its IPv6 /64 (one subscriber's network, which holds any number of addresses).
std::string client_of(const asio::ip::address& address) {
  if (address.is_v4()) return address.to_string();
  const asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

// A parse error of the client's bytes (not the client leaving early).
bool is_malformed(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::end_of_stream).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

class Session;

// What the connections share. Everything but `queue` is touched on the I/O thread only.
// `sessions` outlives `io`, whose destructor may end the last sessions.
struct Core {
  HttpLimits limits;
  HttpHandlers handlers;
  std::list<Session*> sessions;
  bool stopping = false;
  std::atomic<int> in_flight{0};
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_pause{io};
  FairQueue queue;

  void accept();
  void admit(tcp::socket socket);
  bool make_room(const std::string* address);
};

// Where a connection is: waiting for a request head (or idle between requests), reading a body,
// busy with a request (its handler, its answer), lingering after a closing answer, or closed.
enum class Phase { kWaiting, kReadingBody, kBusy, kLingering, kClosed };

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Core& core, tcp::socket socket, std::string address, std::string client)
      : core_(core),
        stream_(std::move(socket)),
        buffer_(kBufferLimit),
        address_(std::move(address)),
        client_(std::move(client)) {
    entry_ = core_.sessions.insert(core_.sessions.end(), this);
  }
  ~Session() {
    answered();
    core_.sessions.erase(entry_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() { read_head(); }

  const std::string& client() const { return client_; }
  Phase phase() const { return phase_; }
  Clock::time_point since() const { return since_; }

  // Closes the connection; its pending read ends with operation_aborted.
  void close() {
    answered();
    phase_ = Phase::kClosed;
    stream_.close();
  }

 private:
  // The head's bytes, the body's read-ahead and pipelined requests share one buffer; bodies go
  // into the request's own string.
  static constexpr size_t kBufferLimit = 1 << 20;
  static constexpr size_t kReadChunk = 64 << 10;

  // The request counted in flight is done with (answered, or its client gone).
  void answered() {
    if (std::exchange(counted_, false)) --core_.in_flight;
  }

  void enter(Phase phase) {
    phase_ = phase;
    since_ = Clock::now();
  }

  void read_head() {
    enter(Phase::kWaiting);
    request_ = {};
    response_ = {};
    keep_alive_ = false;
    head_.emplace();
    head_->header_limit(core_.limits.max_head);
    head_->body_limit(core_.limits.max_body);  // a larger Content-Length ends the head with body_limit
    stream_.expires_after(core_.limits.head_timeout);
    http::async_read_header(stream_, buffer_, *head_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->on_head(ec); });
  }

  void on_head(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;
    enter(Phase::kBusy);
    started_ = Clock::now();
    if (refused_unparsed(ec)) return;
    if (ec) return close();  // the client left, went silent past the deadline, or was evicted
    ++core_.in_flight;
    counted_ = true;
    read_request_head();
    if (refused_framing()) return;
    if (core_.handlers.screen(request_, response_)) {
      response_.close = true;
      return write();
    }
    if (head_->is_done()) return dispatch();
    enter(Phase::kReadingBody);
    if (request_.has_header("Expect") && request_.version >= 11) return continue_then_read_body();
    read_body();
  }

  // A head the parser refused (too large, malformed) answered; false for any other outcome.
  bool refused_unparsed(const beast::error_code& ec) {
    if (ec == http::error::header_limit) {
      // Beast parses the request line once the head is whole, or on the first read that holds
      // the line: with no line parsed and no line break buffered, the line alone is too long.
      const std::string_view seen(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      if (head_->get().method_string().empty() && seen.find("\r\n") == std::string_view::npos)
        refuse(414, fmt::format("the request line is longer than {} bytes", core_.limits.max_head));
      else
        refuse(431, fmt::format("the request head is larger than {} KiB", core_.limits.max_head >> 10));
    } else if (ec == http::error::body_limit) {
      refuse_body();
    } else if (ec == http::error::bad_content_length) {
      refuse(400, "bad Content-Length: malformed, or more than one Content-Length");
    } else if (ec == http::error::bad_transfer_encoding) {
      refuse(400, "bad Transfer-Encoding: given twice, or with a Content-Length");
    } else if (is_malformed(ec)) {
      refuse(400, "malformed request head");
    } else {
      return false;
    }
    return true;
  }

  // A parsed head whose framing the server does not take answered (431, 501, 417).
  bool refused_framing() {
    if (int(request_.headers.size()) > core_.limits.max_headers) {
      refuse(431, fmt::format("the request has more than {} header lines", core_.limits.max_headers));
      return true;
    }
    // Chunked alone: Beast would take "gzip, chunked" as chunked and hand over gzip bytes.
    const std::string coding = request_.header("Transfer-Encoding");
    if (request_.header_count("Transfer-Encoding") > 1 || (!coding.empty() && !beast::iequals(coding, "chunked"))) {
      refuse(501, fmt::format("Transfer-Encoding '{}' is not supported: send a Content-Length, or chunked", coding));
      return true;
    }
    const std::string expect = request_.header("Expect");
    if (!expect.empty() && !beast::iequals(expect, "100-continue")) {
      refuse(417, fmt::format("Expect '{}' is not supported", expect));
      return true;
    }
    return false;
  }

  // Expect: 100-continue: the client waits for this before it sends the body.
  void continue_then_read_body() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(core_.limits.write_timeout);
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](beast::error_code error, size_t) {
                        if (error) return self->close();
                        self->read_body();
                      });
  }

  void read_request_head() {
    const auto& head = head_->get();
    request_.method = std::string(head.method_string());
    request_.set_target(std::string(head.target()));
    request_.version = int(head.version());
    request_.remote_addr = address_;
    for (const auto& field : head) request_.headers.emplace_back(field.name_string(), field.value());
    keep_alive_ = head.keep_alive();
  }

  void read_body() {
    body_.emplace(std::move(*head_));
    head_.reset();
    body_->body_limit(core_.limits.max_body);
    stream_.expires_after(core_.limits.body_timeout);
    http::async_read(stream_, buffer_, *body_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;
    enter(Phase::kBusy);
    if (ec == http::error::body_limit) return refuse_body();
    if (is_malformed(ec)) return refuse(400, "malformed chunked body");
    if (ec) return close();
    request_.body = std::move(body_->get().body());
    body_.reset();
    dispatch();
  }

  void dispatch() {
    if (!core_.handlers.in_worker(request_)) {
      core_.handlers.handle(request_, response_);
      return write();
    }
    core_.queue.push(client_, [self = shared_from_this(), work = asio::make_work_guard(core_.io)]() mutable {
      self->core_.handlers.handle(self->request_, self->response_);
      asio::io_context& io = self->core_.io;
      // The I/O thread holds the last reference: the session ends there, as it began.
      asio::post(io, [self = std::move(self), work = std::move(work)] { self->write(); });
    });
  }

  void refuse_body() {
    refuse(413, fmt::format("the request body is over the limit of {} MiB", core_.limits.max_body >> 20));
  }

  // An answer from the server itself, before the routes saw the request; the connection closes.
  void refuse(int status, const std::string& message) {
    if (request_.method.empty() && head_) {  // what the parser got of the request line
      request_.method = std::string(head_->get().method_string());
      request_.set_target(std::string(head_->get().target()));
    }
    request_.remote_addr = address_;
    response_ = {};
    core_.handlers.error(request_, response_, status, message);
    response_.close = true;
    write();
  }

  void write() {
    if (phase_ == Phase::kClosed) return;
    const bool keep = keep_alive_ && !response_.close && !core_.stopping;
    answered();
    core_.handlers.log(request_, response_, std::chrono::duration<double, std::milli>(Clock::now() - started_).count());
    out_ = {};
    out_.version(request_.version == 10 ? 10 : 11);
    out_.result(unsigned(response_.status));
    if (!response_.content_type.empty()) out_.set(http::field::content_type, response_.content_type);
    for (auto& [name, value] : response_.headers) out_.insert(name, value);
    if (response_.status == 204) {
      // No body and no Content-Length (RFC 9110).
    } else if (request_.method == "HEAD") {
      out_.content_length(response_.body.size());  // what GET would send; no body
    } else {
      out_.body() = std::move(response_.body);
      out_.prepare_payload();
    }
    out_.keep_alive(keep);
    stream_.expires_after(core_.limits.write_timeout);
    http::async_write(stream_, out_, [self = shared_from_this(), keep](beast::error_code ec, size_t) {
      if (ec || self->phase_ == Phase::kClosed) return self->close();
      if (keep && !self->core_.stopping) return self->read_head();
      self->linger();
    });
  }

  // After a closing answer: no more sending, and what the client still sends (a refused body)
  // read and dropped for a moment, so that the close does not reset the connection before the
  // client has read the answer.
  void linger() {
    enter(Phase::kLingering);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(1));
    drain();
  }

  void drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(kReadChunk), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || self->phase_ == Phase::kClosed) return self->close();
      self->drain();
    });
  }

  Core& core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string address_, client_;
  std::list<Session*>::iterator entry_;
  Phase phase_ = Phase::kWaiting;
  Clock::time_point since_ = Clock::now(), started_;
  std::optional<http::request_parser<http::empty_body>> head_;
  std::optional<http::request_parser<http::string_body>> body_;
  HttpRequest request_;
  HttpResponse response_;
  bool keep_alive_ = false;
  bool counted_ = false;  // in core_.in_flight
  http::response<http::string_body> out_;
};

void Core::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (!ec) {
      admit(std::move(socket));
      return accept();
    }
    // Out of file descriptors, say: try again shortly rather than spin.
    accept_pause.expires_after(std::chrono::milliseconds(50));
    accept_pause.async_wait([this](beast::error_code) { accept(); });
  });
}

void Core::admit(tcp::socket socket) {
  beast::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec || stopping) return;
  const std::string client = client_of(peer.address());
  int total = 0, mine = 0;
  for (const Session* s : sessions)
    if (s->phase() != Phase::kClosed) ++total, mine += s->client() == client;
  if ((total >= limits.max_connections && !make_room(nullptr)) ||
      (mine >= limits.max_per_client && !make_room(&client)))
    return;                                    // every connection is busy with a request: this one is closed unanswered
  socket.set_option(tcp::no_delay(true), ec);  // small answers must not wait for Nagle's algorithm
  std::make_shared<Session>(*this, std::move(socket), peer.address().to_string(), client)->start();
}

// Closes the connection (of `client`, if given) that has waited longest for a request head (or
// lingered longest after its answer); failing that, the one that has been reading a body the
// longest. Connections busy with a handler or an answer are never closed.
bool Core::make_room(const std::string* client) {
  Session* oldest = nullptr;
  auto rank = [](Phase p) {
    return p == Phase::kWaiting || p == Phase::kLingering ? 0 : p == Phase::kReadingBody ? 1 : 2;
  };
  for (Session* s : sessions) {
    if (rank(s->phase()) == 2 || (client != nullptr && s->client() != *client)) continue;
    if (oldest == nullptr || rank(s->phase()) < rank(oldest->phase()) ||
        (rank(s->phase()) == rank(oldest->phase()) && s->since() < oldest->since()))
      oldest = s;
  }
  if (oldest == nullptr) return false;
  oldest->close();
  return true;
}

}  // namespace

class HttpServer::Impl {
 public:
  Core core;
  std::vector<std::thread> workers;
};

HttpServer::HttpServer(HttpLimits limits, HttpHandlers handlers, int workers) : impl_(std::make_unique<Impl>()) {
  impl_->core.limits = limits;
  impl_->core.handlers = std::move(handlers);
  for (int i = 0; i < workers; ++i)
    impl_->workers.emplace_back([this] {
      while (const std::function<void()> job = impl_->core.queue.pop()) job();
    });
}

HttpServer::~HttpServer() {
  impl_->core.queue.close();
  for (std::thread& t : impl_->workers) t.join();
}

int HttpServer::listen(const std::string& host, int port) {
  Core& core = impl_->core;
  auto fail = [&](const std::string& why) {
    return std::runtime_error(fmt::format("cannot listen on {}:{}: {}", host, port, why));
  };
  beast::error_code ec;
  tcp::resolver resolver(core.io);
  const auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || found.empty()) throw fail("not an address of this machine");
  const tcp::endpoint endpoint = *found.begin();
  core.acceptor.open(endpoint.protocol(), ec);
  if (!ec) core.acceptor.set_option(asio::socket_base::reuse_address(true), ec);  // a restart may reuse the port
  if (!ec) core.acceptor.bind(endpoint, ec);
  if (!ec) core.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw fail(ec == asio::error::address_in_use ? "the address is in use" : "the address is not usable here");
  return core.acceptor.local_endpoint().port();
}

void HttpServer::run() {
  Core& core = impl_->core;
  core.accept();
  core.io.run();
}

int HttpServer::in_flight() const { return impl_->core.in_flight.load(); }

void HttpServer::stop() {
  Core& core = impl_->core;
  asio::post(core.io, [&core] {
    core.stopping = true;
    beast::error_code ignored;
    core.acceptor.close(ignored);
    core.accept_pause.cancel();
    for (Session* s : core.sessions)
      if (s->phase() == Phase::kWaiting || s->phase() == Phase::kLingering) s->close();
  });
}

}  // namespace hdr::cli

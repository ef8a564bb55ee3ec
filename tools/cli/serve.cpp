// `hdr serve MODEL`: the drawing page, the seed projects' REST API and the Open Inference
// Protocol over HTTP (tools/cli/http_api.h has the routes), from one binary.
//
// Concurrency: cpp-httplib gives each open connection a thread from a pool of --connections;
// inference runs on --workers Predictors (one model and backend each, one CPU thread each), lent
// per request. So requests run in parallel up to the core count without oversubscribing it,
// and slow clients hold only a connection thread, which the read/write timeouts free.
// SIGINT/SIGTERM stop the server: in-flight requests finish, then the process exits 0; a second
// signal exits at once. Decoding, and parsing an infer request's JSON, run in a worker's turn
// too, so the memory they take is bounded by --workers. Framing the library would accept, a body
// it would read before any limit, and the token are checked before the body is read
// (refuse_request, tools/cli/http_api.h).
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <httplib.h>

#include <malloc.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include "engine/core/errors.h"
#include "engine/core/thousands.h"
#include "engine/inference/inference.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"
#include "tools/cli/http_api.h"
#include "tools/cli/signal_watcher.h"

namespace hdr::cli {
namespace {

struct ServeArgs {
  std::string model, host = "127.0.0.1", token_file;
  int port = 8080;
  int workers = 0, connections = 64, max_body_mib = 16, max_megapixels = 16, timeout_seconds = 5;
  bool quiet = false;
  std::string device = "auto";
};

// The token: the file's first line, which must hold one (no spaces, at least 16 characters: a
// guessable token protects nothing).
std::string read_token(const std::string& file) {
  std::ifstream in(file);
  std::string token;
  if (!in || !std::getline(in, token)) throw InputError(fmt::format("--token {}: cannot read the file", file));
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.size() < 16 || token.find_first_of(" \t") != std::string::npos)
    throw InputError(
        fmt::format("--token {}: the first line must be a token of at least 16 characters without spaces", file));
  return token;
}

bool is_loopback(const std::string& host) { return host == "localhost" || host == "::1" || host.starts_with("127."); }

// Workers run single images, so each computes on one CPU thread (or its own GPU stream). The
// device is resolved once, as --device auto resolves it (and says so), and every worker opens
// its own backend on it.
std::function<std::unique_ptr<Backend>()> backend_factory(const std::string& device) {
  const std::string name = make_backend(DeviceOptions{device, 1})->name();
  const std::string resolved = name.starts_with("cpu") ? "cpu" : name.substr(0, name.find(' '));  // "cuda:0"
  return [resolved]() { return resolved == "cpu" ? make_cpu_backend(1) : open_cuda_backend(resolved); };
}

// One line per request on stderr: time, client, request, status, bytes, time in the handler.
thread_local std::chrono::steady_clock::time_point t_request_start{};

void log_request(ServeState& state, bool quiet, const httplib::Request& req, const httplib::Response& res) {
  ++state.requests;
  if (quiet) return;
  const auto start = std::exchange(t_request_start, {});
  const std::string took =
      start == std::chrono::steady_clock::time_point{}
          ? "-"
          : fmt::format("{:.2f} ms",
                        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  fmt::print(stderr, "{:%Y-%m-%dT%H:%M:%S}Z {} \"{} {}\" {} {} B {}\n",
             std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()), req.remote_addr,
             log_escaped(req.method), log_escaped(req.path), res.status, res.body.size(), took);
}

void run_serve(const ServeArgs& args) {
  const std::string token = args.token_file.empty() ? "" : read_token(args.token_file);  // before the model loads
  httplib::Server server;
  // A signal that comes between bind and listen waits until the server runs.
  bool stopped = false;
  const SignalWatcher signals("serve", [&server, &stopped](int caught) {
    if (caught != 0 && !stopped && server.is_running()) {
      server.stop();
      stopped = true;
    }
  });
  const TrainedModel trained = read_trained_model(args.model);
  const int workers = args.workers > 0 ? args.workers : int(std::max(1u, std::thread::hardware_concurrency()));
  constexpr int kServeBatch = 64;  // a KServe infer request runs in batches of this many
  PredictorPool pool(trained, workers, backend_factory(args.device), kServeBatch);

  const ModelSpec& spec = trained.config.model;
  ServeState state{.pool = pool,
                   .model_name = spec.name,
                   .parameters = pool.counts().total(),
                   .classes = spec.classes,
                   .geometry = digit_geometry(spec, args.model),
                   .limits = ImageLimits{.max_bytes = size_t(args.max_body_mib) << 20,
                                         .max_pixels = int64_t(args.max_megapixels) * 1'000'000},
                   .token = token};

  install_routes(server, state);
  const int connections = args.connections;
  server.new_task_queue = [connections] { return new httplib::ThreadPool(size_t(connections)); };
  server.set_payload_max_length(state.limits.max_bytes);
  server.set_read_timeout(args.timeout_seconds, 0);
  server.set_write_timeout(args.timeout_seconds, 0);
  server.set_keep_alive_timeout(args.timeout_seconds);
  server.set_keep_alive_max_count(std::numeric_limits<int>::max());
  server.set_tcp_nodelay(true);  // small responses must not wait for Nagle's algorithm
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second server bind a busy port
  // and silently share its traffic: keep only SO_REUSEADDR (a restart may reuse the port).
  socket_t listening = -1;
  server.set_socket_options([&listening](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening = sock;
  });
  server.set_pre_routing_handler([&state](const httplib::Request& req, httplib::Response& res) {
    t_request_start = std::chrono::steady_clock::now();
    // Ranges are ignored, as HTTP allows: cpp-httplib would build the answer to 2,700 ranges of
    // the page in memory (a 50 MB 206 for an 8 KB request). The hook sees the request as const;
    // the library's own object is not, and it reads the ranges only after the routes.
    const_cast<httplib::Request&>(req).ranges.clear();
    return refuse_request(state, req, res) ? httplib::Server::HandlerResponse::Handled
                                           : httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_logger([&state, quiet = args.quiet](const httplib::Request& req, const httplib::Response& res) {
    log_request(state, quiet, req, res);
  });

  const int port = args.port == 0                              ? server.bind_to_any_port(args.host)
                   : server.bind_to_port(args.host, args.port) ? args.port
                                                               : -1;
  if (port < 0)
    throw std::runtime_error(
        fmt::format("cannot listen on {}:{} (address in use, not local, or port not allowed)", args.host, args.port));
  // cpp-httplib listens with a backlog of 5: a burst of new connections overflows it and clients
  // see resets. Linux takes a second listen() as a new backlog.
  if (::listen(listening, SOMAXCONN) != 0)
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", args.host, port, std::strerror(errno)));
  // glibc keeps freed blocks of a large request's body, JSON and images in its arenas for later
  // (its mmap threshold grows with the largest block freed), so the process kept their size
  // after a few 16 MiB requests. Blocks of 1 MiB and more now come from mmap and go back to the
  // system when freed; the small blocks of ordinary requests stay in the arenas.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  if (state.token.empty() && !is_loopback(args.host))
    fmt::print(stderr,
               "serve: warning: listening on {} without --token: anyone who can reach this address can use the "
               "model\n",
               args.host);
  bool ok = true;
  if (signals.caught() == 0) {
    fmt::print(stderr, "serve: model {} ({} parameters) from {} on {} x {} worker{}\n", state.model_name,
               with_thousands(state.parameters), args.model, pool.device(), workers, workers == 1 ? "" : "s");
    fmt::print(stderr,
               "serve: listening on http://{}:{} (page at /, POST /predict, GET /health, /v2/...; Ctrl-C stops)\n",
               args.host, port);
    ok = server.listen_after_bind();
  }
  if (!ok && signals.caught() == 0) throw std::runtime_error("the server stopped unexpectedly");
  fmt::print(stderr, "serve: stopped by {} after {} requests\n", signals.caught() == SIGINT ? "SIGINT" : "SIGTERM",
             state.requests.load());
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve a model over HTTP: drawing page, REST API, KServe v2 protocol");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("model", args->model, "Trained model (model.hdr from hdr train)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", args->host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--port", args->port, "TCP port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--workers,--threads", args->workers, "Requests computed at once, one CPU thread each (0: all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("--connections", args->connections, "Open connections served at once (keep-alive holds one each)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--max-body", args->max_body_mib, "Largest request body, MiB (larger: 413)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--timeout", args->timeout_seconds, "Seconds a client may stay silent while sending or receiving")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--max-megapixels", args->max_megapixels,
                  "Largest image, in megapixels from its header, refused before decoding (a 12 MP phone photo fits)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--token", args->token_file,
                  "File whose first line is a token that every endpoint but the page and health checks needs "
                  "(Authorization: Bearer TOKEN)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--quiet", args->quiet, "No access log");
  add_device_option(*cmd, args->device);
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace hdr::cli

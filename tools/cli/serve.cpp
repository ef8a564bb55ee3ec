// `hdr serve MODEL`: the drawing page, the seed projects' REST API and the Open Inference
// Protocol over HTTP (tools/cli/http_api.h has the routes), from one binary.
//
// Concurrency: one thread does the network I/O of every connection and answers the cheap GET
// requests; POST requests (decoding, parsing an infer request's JSON, inference) run on
// --workers threads, each with a Predictor (one model and backend, one CPU thread), so requests
// run in parallel up to the core count without oversubscribing it, and the memory decoding and
// parsing take is bounded by --workers. Limits on heads, bodies, time and connections apply as
// bytes arrive (tools/cli/http_server.h); framing the routes would not trust and the token are
// checked before a body is read (refuse_request). SIGINT/SIGTERM stop the server: in-flight
// requests finish, then the process exits 0; a second signal exits at once.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <malloc.h>

#include <csignal>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/backends/build_info.h"
#include "engine/core/errors.h"
#include "engine/core/thousands.h"
#include "engine/inference/inference.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"
#include "tools/cli/http_api.h"
#include "tools/cli/http_request.h"
#include "tools/cli/http_server.h"
#include "tools/cli/signal_watcher.h"

namespace hdr::cli {
namespace {

struct ServeArgs {
  std::string model, host = "127.0.0.1", token_file, corrections_dir;
  int corrections_max = 10'000;
  int port = 8080;
  int workers = 0, connections = 256, connections_per_client = 64, max_body_mib = 16, max_megapixels = 16;
  int timeout_seconds = 5, body_timeout_seconds = 30;
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

// One line per request on stderr: time, client, request, status, bytes, time to the answer.
void log_request(ServeState& state, bool quiet, const HttpRequest& req, const HttpResponse& res, double ms) {
  ++state.requests;
  state.metrics.answered(endpoint_label(req), res.status, ms / 1000, req.body.size());
  if (quiet) return;
  fmt::print(stderr, "{:%Y-%m-%dT%H:%M:%S}Z {} \"{} {}\" {} {} B {:.2f} ms\n",
             std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()), req.remote_addr,
             log_escaped(req.method), log_escaped(req.path), res.status, res.body.size(), ms);
}

void run_serve(const ServeArgs& args) {
  const std::string token = args.token_file.empty() ? "" : read_token(args.token_file);  // before the model loads
  // The watcher comes before any thread starts; it stops the server once there is one.
  std::mutex serving_mutex;
  HttpServer* serving = nullptr;
  const SignalWatcher signals("serve", [&serving_mutex, &serving](int caught) {
    const std::lock_guard lock(serving_mutex);
    if (caught != 0 && serving != nullptr) std::exchange(serving, nullptr)->stop();
  });
  const int workers = args.workers > 0 ? args.workers : int(std::max(1u, std::thread::hardware_concurrency()));
  static constexpr int kServeBatch = 64;  // a KServe infer request runs in batches of this many
  ServedModel model(args.model, [workers, factory = backend_factory(args.device)](const TrainedModel& trained) {
    return std::make_shared<PredictorPool>(trained, workers, factory, kServeBatch);
  });
  // The metrics name the model first served (a reload keeps its name, classes and input).
  ServeMetrics metrics(ModelInfo{.name = model.name(),
                                 .device = model.current()->device(),
                                 .version = HDR_VERSION,
                                 .parameters = model.current()->counts().total(),
                                 .workers = workers});
  ServeState state{.model = model,
                   .limits = ImageLimits{.max_bytes = size_t(args.max_body_mib) << 20,
                                         .max_pixels = int64_t(args.max_megapixels) * 1'000'000},
                   .token = token,
                   .metrics = metrics};
  std::optional<CorrectionWriter> writer;
  std::optional<ServeCorrections> corrections;
  if (!args.corrections_dir.empty()) {
    writer.emplace(args.corrections_dir, model.geometry().side, model.classes(), args.corrections_max);
    state.corrections = &corrections.emplace(*writer);
    fmt::print(stderr, "serve: corrections go to {} ({} there, room for {})\n", args.corrections_dir, writer->count(),
               args.corrections_max);
  }

  const HttpLimits limits{.max_body = state.limits.max_bytes,
                          .head_timeout = std::chrono::seconds(args.timeout_seconds),
                          .body_timeout = std::chrono::seconds(args.body_timeout_seconds),
                          .write_timeout = std::chrono::seconds(args.timeout_seconds),
                          .max_connections = args.connections,
                          .max_per_client = std::min(args.connections_per_client, args.connections)};
  HttpHandlers handlers{
      .screen = [&state](const HttpRequest& req, HttpResponse& res) { return refuse_request(state, req, res); },
      .handle = [&state](HttpRequest& req, HttpResponse& res) { answer_request(state, req, res); },
      .in_worker = [](const HttpRequest& req) { return req.method == "POST"; },
      .error = [](const HttpRequest& req, HttpResponse& res, int status,
                  const std::string& message) { send_error(req, res, status, message); },
      .log = [&state, quiet = args.quiet](const HttpRequest& req, const HttpResponse& res,
                                          double ms) { log_request(state, quiet, req, res, ms); }};
  HttpServer server(limits, std::move(handlers), workers);
  state.in_flight = [&server] { return server.in_flight(); };
  const int port = server.listen(args.host, args.port);
  {
    const std::lock_guard lock(serving_mutex);
    if (signals.caught() == 0) serving = &server;
  }
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
  fmt::print(stderr, "serve: model {} ({} parameters) from {} on {} x {} worker{}\n", model.name(),
             with_thousands(model.current()->counts().total()), args.model, model.current()->device(), workers,
             workers == 1 ? "" : "s");
  fmt::print(stderr,
             "serve: listening on http://{}:{} (page at /, POST /predict, GET /health, /v2/...; Ctrl-C stops)\n",
             args.host, port);
  if (signals.caught() == 0) server.run();
  {
    const std::lock_guard lock(serving_mutex);
    serving = nullptr;
  }
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
  cmd->add_option("--connections", args->connections,
                  "Open connections at most; past it, the one waiting longest for a request is closed")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--connections-per-client", args->connections_per_client,
                  "Open connections at most from one client address")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--max-body", args->max_body_mib, "Largest request body, MiB (larger: 413)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--timeout", args->timeout_seconds,
                  "Seconds for a whole request head to arrive (and for an idle connection to send one), and for "
                  "an answer to be taken")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--body-timeout", args->body_timeout_seconds, "Seconds for a whole request body to arrive")
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
  cmd->add_option("--corrections", args->corrections_dir,
                  "Keep the digits users correct (POST /corrections) in this folder, as IDX files for hdr train "
                  "--data-extra; nothing is kept without it");
  cmd->add_option("--corrections-max", args->corrections_max, "The most corrections the folder may hold")
      ->check(CLI::Range(1, 100'000))  // each correction rewrites the set: 78 MB at the most
      ->capture_default_str();
  cmd->add_flag("--quiet", args->quiet, "No access log");
  add_device_option(*cmd, args->device);
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace hdr::cli

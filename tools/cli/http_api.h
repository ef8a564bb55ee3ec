// The HTTP API of `hdr serve` (its server: tools/cli/http_server.h):
//   GET  /                        the drawing page (tools/web/index.html, compiled in)
//   POST /predict                 seed 003's contract: multipart field "image", JSON
//                                 {"image": "data:image/png;base64,..."} or raw image/* bytes ->
//                                 {"status": "success", "prediction", "confidence", "top",
//                                 "probabilities"} (+ "preprocessed" with ?preprocessed=1)
//   GET  /health                  status, model, parameters, device, uptime, requests served
//   GET  /metrics                 Prometheus metrics (tools/cli/serve_metrics.h)
//   POST /predict?number=1        the image read as a line of digits (docs/numbers.md)
//   POST/GET /corrections         "that was a 7" for an answer's id (tools/cli/serve_corrections.h)
//   /v2/...                       the Open Inference Protocol (KServe v2), as Triton and KServe
//                                 speak it: health, server and model metadata, model ready, infer
//   POST /v2/repository/models/{name}/load   reads the model file again and serves it
//                                 (Triton's model repository API; tools/cli/served_model.h)
// Errors are JSON: {"status": "error", "message"} on the seed API, {"error"} under /v2 (the
// protocol's form): 400 bad input, 404 unknown path or model, 405 wrong method, 413 body over
// the limit, 415 unsupported content type; 500 for a failure of the server itself (logged, its
// cause not shown to the client).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "engine/inference/inference.h"
#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"
#include "tools/cli/http_message.h"
#include "tools/cli/serve_corrections.h"
#include "tools/cli/serve_metrics.h"
#include "tools/cli/served_model.h"

namespace hdr::cli {

// What the handlers share: the model's Predictors (one request each at a time) and what
// /health reports.
struct ServeState {
  ServedModel& model;
  ImageLimits limits;
  std::string token;  // the bearer token every protected endpoint needs ("" : none)
  ServeMetrics& metrics;
  ServeCorrections* corrections = nullptr;  // --corrections DIR, else none
  std::function<int()> in_flight;           // requests read and not yet answered
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<int64_t> requests{0};
};

// The endpoint a request is counted under in the metrics: the route ("/v2/models/{name}/infer"),
// never the raw path, so that clients cannot grow the label set; "other" for unknown paths.
std::string endpoint_label(const HttpRequest& req);

// Answers a request whose body is read: the routes above, 404 and 405 (with Allow), OPTIONS,
// and every refusal as a JSON error. Never throws: a failure of the server itself is a 500
// whose cause is logged, not shown.
void answer_request(ServeState& state, HttpRequest& req, HttpResponse& res);

// What every request goes through once its head is read and before its body is (the server
// has already refused malformed framing and oversized heads and bodies): a second identical
// Content-Length or no Host on HTTP/1.1 (400), a POST with neither a Content-Length nor a
// chunked body (411), a Content-Encoding (415: --max-body would apply to the compressed bytes
// only), then the token where the server has one (401; the page and the health endpoints need
// none). True when it answered.
bool refuse_request(ServeState& state, const HttpRequest& req, HttpResponse& res);

// Client text as one access-log field: printable ASCII kept, '"', '\\' and every other byte as
// \xNN, so that a request cannot forge or split a log line.
std::string log_escaped(std::string_view text);

}  // namespace hdr::cli

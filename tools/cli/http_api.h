// The HTTP API of `hdr serve`, on cpp-httplib:
//   GET  /                        the drawing page (tools/web/index.html, compiled in)
//   POST /predict                 seed 003's contract: multipart field "image", JSON
//                                 {"image": "data:image/png;base64,..."} or raw image/* bytes ->
//                                 {"status": "success", "prediction", "confidence", "top",
//                                 "probabilities"} (+ "preprocessed" with ?preprocessed=1)
//   GET  /health                  status, model, parameters, device, uptime, requests served
//   /v2/...                       the Open Inference Protocol (KServe v2), as Triton and KServe
//                                 speak it: health, server and model metadata, model ready, infer
// Errors are JSON: {"status": "error", "message"} on the seed API, {"error"} under /v2 (the
// protocol's form): 400 bad input, 404 unknown path or model, 405 wrong method, 413 body over
// the limit, 415 unsupported content type; 500 for a failure of the server itself (logged, its
// cause not shown to the client).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "engine/inference/inference.h"
#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"

namespace hdr::cli {

// What the handlers share: the model's Predictors (one request each at a time) and what
// /health reports.
struct ServeState {
  PredictorPool& pool;
  std::string model_name;
  int64_t parameters = 0;
  int classes = 10;
  DigitGeometry geometry;
  ImageLimits limits;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<int64_t> requests{0};
};

// Registers every route, the JSON error handler and the exception handler on `server`.
void install_routes(httplib::Server& server, ServeState& state);

}  // namespace hdr::cli

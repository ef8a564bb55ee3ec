#include "tools/cli/http_api.h"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "engine/backends/build_info.h"
#include "engine/core/errors.h"
#include "tools/cli/http_request.h"
#include "tools/cli/prediction_json.h"
#include "tools/web_page.h"

namespace hdr::cli {
namespace {

using Request = HttpRequest;
using Response = HttpResponse;
using Json = nlohmann::json;

// The model's call, timed for the metrics.
std::vector<float> timed_predict(ServeState& state, Predictor& predictor, std::span<const float> images, int64_t n) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<float> probabilities = predictor.predict(images);
  state.metrics.inferred(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), n);
  return probabilities;
}

// The predictor as read_number's classifier, timed for the metrics.
DigitClassifier timed_classifier(ServeState& state, Predictor& predictor) {
  return [&state, &predictor](std::span<const float> images) {
    return timed_predict(state, predictor, images, int64_t(images.size()) / predictor.input_size());
  };
}

// /predict?number=1: the image read as a line of digits (engine/io/read_number.h).
void send_number(ServeState& state, Predictor& predictor, std::span<const uint8_t> encoded, Response& res) {
  const DigitClassifier classify = timed_classifier(state, predictor);
  const NumberReading reading = read_number(decode_image(encoded, "image", state.limits), "image", classify,
                                            state.model.geometry());
  Json out = {{"status", "success"}};
  out.update(number_json(reading, 3));
  if (state.corrections)
    for (size_t k = 0; k < reading.digits.size(); ++k)
      out["digits"][k]["id"] = state.corrections->recent.remember(to_bytes(reading.digits[k].image));
  send_json(res, 200, out);
}

void handle_predict(ServeState& state, const Request& req, Response& res) {
  const std::string bytes = image_bytes(req);
  // A worker's turn covers decoding too: it is the costly part for a large photo (up to
  // limits.max_pixels), so at most --workers images are in memory decoded at once.
  auto predictor = state.model.acquire();
  const std::span<const uint8_t> encoded(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (req.query_value("number") == "1") return send_number(state, *predictor, encoded, res);
  const std::vector<float> image = preprocess_image(encoded, "image", state.model.geometry(), state.limits);
  const std::vector<float> probabilities = timed_predict(state, *predictor, image, 1);
  Json out = {{"status", "success"}};
  out.update(prediction_json(probabilities, 3));
  if (req.query_value("preprocessed") == "1") out["preprocessed"] = to_bytes(image);
  if (state.corrections) out["id"] = state.corrections->recent.remember(to_bytes(image));
  send_json(res, 200, out);
}

void handle_health(ServeState& state, Response& res) {
  const std::shared_ptr<PredictorPool> pool = state.model.current();
  const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - state.started).count();
  send_json(res, 200,
            {{"status", "ok"},
             {"model", state.model.name()},
             {"parameters", pool->counts().total()},
             {"device", pool->device()},
             {"workers", pool->size()},
             {"model_loads", state.model.loads()},
             {"uptime_seconds", std::round(uptime * 10) / 10},
             {"requests_served", state.requests.load()},
             {"version", HDR_VERSION}});
}

// --- Open Inference Protocol (KServe v2) ------------------------------------------------------

// The model a /v2/models/{name}[/versions/{v}] path names: this server's one model, version 1.
void require_model(const ServeState& state, const Request& req) {
  const std::string& name = req.matches.at(1);
  const std::string& version = req.matches.at(2);
  if (name != state.model.name())
    throw HttpError(404, fmt::format("no model '{}' here: this server serves '{}'", name, state.model.name()));
  if (!version.empty() && version != "1")
    throw HttpError(404, fmt::format("model '{}' has no version '{}': it has version 1", name, version));
}

Json model_metadata(const ServeState& state) {
  const DigitGeometry& g = state.model.geometry();
  return {{"name", state.model.name()},
          {"versions", {"1"}},
          {"platform", "hdr"},
          {"inputs", {{{"name", kInputName}, {"datatype", "FP32"}, {"shape", {-1, 1, g.side, g.side}}}}},
          {"outputs", {{{"name", kOutputName}, {"datatype", "FP32"}, {"shape", {-1, state.model.classes()}}}}}};
}

// An infer request with "parameters": {"number": true}: one image of a line of digits read as a
// number. Outputs "number" (BYTES [1]), "digit_boxes" (INT32 [K, 4]: x, y, width, height in the
// input's pixels) and "probabilities" (FP32 [K, classes]); the number's confidence (and, with
// --corrections, each digit's id) in the answer's parameters.
void infer_number(ServeState& state, const Request& req, const Json& body, Predictor& predictor, Response& res) {
  const DecodedImage image = infer_line_input(body, req.body.size());
  if (int64_t(image.width) * image.height > state.limits.max_pixels)
    throw HttpError(400, fmt::format("input 'input': {} x {} values are over the limit of {} megapixels", image.width,
                                     image.height, state.limits.max_pixels / 1'000'000));
  const DigitClassifier classify = timed_classifier(state, predictor);
  const NumberReading reading = read_number(image, "input 'input'", classify, state.model.geometry());
  const auto k = int64_t(reading.digits.size());
  std::vector<int32_t> boxes;
  std::vector<float> probabilities;
  Json ids = Json::array();
  for (const NumberDigit& d : reading.digits) {
    boxes.insert(boxes.end(), {d.x, d.y, d.width, d.height});
    probabilities.insert(probabilities.end(), d.probabilities.begin(), d.probabilities.end());
    if (state.corrections) ids.push_back(state.corrections->recent.remember(to_bytes(d.image)));
  }
  Json out = {
      {"model_name", state.model.name()},
      {"model_version", "1"},
      {"outputs",
       {{{"name", "number"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {reading.text}}},
        {{"name", "digit_boxes"}, {"datatype", "INT32"}, {"shape", {k, 4}}, {"data", boxes}},
        {{"name", kOutputName}, {"datatype", "FP32"}, {"shape", {k, state.model.classes()}}, {"data", probabilities}}}},
      {"parameters", {{"confidence", reading.confidence}}}};
  if (state.corrections) out["parameters"]["ids"] = std::move(ids);
  if (body.contains("id")) out["id"] = body["id"];
  send_json(res, 200, out);
}

// The worker's turn covers parsing: the JSON document takes about 19 times the body, so at most
// --workers of them are in memory at once, whatever the number of clients.
void handle_infer(ServeState& state, const Request& req, Response& res) {
  require_model(state, req);
  auto predictor = state.model.acquire();
  const Json body = parse_json_body(req);
  if (asks_for_number(body)) return infer_number(state, req, body, *predictor, res);
  int64_t n = 0;
  const std::vector<float> images = infer_input(body, req.body.size(), state.model.geometry().side, n);
  const std::vector<float> probabilities = timed_predict(state, *predictor, images, n);
  Json out = {{"model_name", state.model.name()},
              {"model_version", "1"},
              {"outputs",
               {{{"name", kOutputName},
                 {"datatype", "FP32"},
                 {"shape", {n, state.model.classes()}},
                 {"data", probabilities}}}}};
  if (body.contains("id")) out["id"] = body["id"];
  // A single image's id, for POST /corrections (the page's 28x28 grid); batches get none, so
  // that one request cannot push every other answer out of the server's recent digits.
  if (state.corrections && n == 1)
    out["parameters"] = {{"ids", {state.corrections->recent.remember(to_bytes(images))}}};
  send_json(res, 200, out);
}

// POST /v2/repository/models/{name}/load: the model file read again and served from the next
// request on; 400 (the old model kept) when it does not read or is another model.
void handle_load(ServeState& state, const Request& req, Response& res) {
  require_model(state, req);
  const auto start = std::chrono::steady_clock::now();
  state.model.reload();
  fmt::print(stderr, "serve: model {} loaded again from {} in {:.2f} s (load {})\n", state.model.name(),
             state.model.file().string(),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), state.model.loads());
  send_json(res, 200, Json::object());
}

// --- Routing ------------------------------------------------------------------------------------

enum Method { kGet = 1, kPost = 2 };

struct Endpoint {
  int methods = 0;
  void (*handle)(ServeState&, const Request&, Response&) = nullptr;
  std::string_view label;  // the metrics' endpoint where it is not the path itself
};

void send_page(ServeState&, const Request&, Response& res) {
  res.set_content(std::string(kIndexHtml), "text/html; charset=utf-8");
}

void send_server_metadata(ServeState&, const Request&, Response& res) {
  send_json(res, 200, {{"name", "hdr"}, {"version", HDR_VERSION}, {"extensions", Json::array()}});
}

// The endpoints under /v2/models/{name}[/versions/{version}][/ready | /infer]; req.matches gets
// the path, the name and the version ("" when absent).
Endpoint model_endpoint(Request& req) {
  std::vector<std::string> parts;
  for (std::string_view rest = std::string_view(req.path).substr(std::string_view("/v2/models/").size());;) {
    const size_t slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    if (parts.back().empty()) return {};
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  const bool versioned = parts.size() >= 3 && parts[1] == "versions";
  const size_t fixed = versioned ? 3 : 1;
  if (parts.size() > fixed + 1) return {};
  req.matches = {req.path, parts[0], versioned ? parts[2] : ""};
  if (parts.size() == fixed)
    return {kGet,
            [](ServeState& state, const Request& r, Response& res) {
              require_model(state, r);
              send_json(res, 200, model_metadata(state));
            },
            "/v2/models/{name}"};
  if (parts[fixed] == "ready")
    return {kGet,
            [](ServeState& state, const Request& r, Response& res) {
              require_model(state, r);
              send_json(res, 200, {{"name", state.model.name()}, {"ready", true}});
            },
            "/v2/models/{name}/ready"};
  if (parts[fixed] == "infer") return {kPost, handle_infer, "/v2/models/{name}/infer"};
  return {};
}

// The endpoint of req's path; methods 0 when there is none.
Endpoint find_endpoint(Request& req) {
  const std::string& p = req.path;
  if (p == "/") return {kGet, send_page};
  if (p == "/predict") return {kPost, handle_predict};
  if (p == "/health")
    return {kGet, [](ServeState& state, const Request&, Response& res) { handle_health(state, res); }};
  if (p == "/metrics")
    return {kGet, [](ServeState& state, const Request&, Response& res) {
              res.set_content(state.metrics.render(state.in_flight()), "text/plain; version=0.0.4; charset=utf-8");
            }};
  if (p == "/corrections")
    return {kGet | kPost, [](ServeState& state, const Request& r, Response& res) {
              if (r.method == "POST") return post_correction(state.corrections, r, res);
              get_corrections(state.corrections, res);
            }};
  if (p == "/v2") return {kGet, send_server_metadata};
  if (p == "/v2/health/live")
    return {kGet, [](ServeState&, const Request&, Response& res) { send_json(res, 200, {{"live", true}}); }};
  if (p == "/v2/health/ready")
    return {kGet, [](ServeState&, const Request&, Response& res) { send_json(res, 200, {{"ready", true}}); }};
  if (p.starts_with("/v2/models/")) return model_endpoint(req);
  if (p.starts_with("/v2/repository/models/") && p.ends_with("/load")) {
    req.matches = {p, p.substr(22, p.size() - 22 - 5), ""};
    return {kPost, handle_load, "/v2/repository/models/{name}/load"};
  }
  return {};
}

// The endpoints anyone may call when the server has a token: the page itself (it asks for the
// token and sends it with its requests) and the health checks a load balancer polls.
bool open_without_token(const std::string& path) {
  return path == "/" || path == "/health" || path == "/v2/health/live" || path == "/v2/health/ready";
}

// Compares in time independent of where the two differ (CRYPTO_memcmp), so that the answer's
// timing does not reveal how much of a guessed token was right.
bool token_matches(const std::string& expected, const std::string& authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer) || authorization.size() - kBearer.size() != expected.size()) return false;
  return CRYPTO_memcmp(authorization.data() + kBearer.size(), expected.data(), expected.size()) == 0;
}

}  // namespace

bool refuse_request(ServeState& state, const Request& req, Response& res) {
  // The body, if any, is left unread: the connection ends with the answer.
  auto refuse = [&](int status, const std::string& message) {
    send_error(req, res, status, message);
    res.close = true;
    return true;
  };
  if (req.version >= 11 && !req.has_header("Host"))
    return refuse(400, "the request has no Host header (HTTP/1.1 requires one)");
  if (req.header_count("Content-Length") > 1) return refuse(400, "the request has more than one Content-Length");
  // Only POST takes a body here: a GET with one would hold its connection while it is read.
  // Other methods have no route: their 404 or 405 needs no body either.
  if (req.method != "POST" && (req.has_header("Transfer-Encoding") ||
                               (req.has_header("Content-Length") && req.header("Content-Length") != "0"))) {
    if (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS")
      return refuse(400, fmt::format("a {} request takes no body here", req.method));
    HttpRequest without_body = req;
    answer_request(state, without_body, res);
    res.close = true;
    return true;
  }
  if (req.method == "POST" && !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding"))
    return refuse(411, "a POST request needs a Content-Length (or a chunked body)");
  if (const std::string encoding = req.header("Content-Encoding"); !encoding.empty() && encoding != "identity")
    return refuse(415, fmt::format("Content-Encoding '{}' is not accepted: send the body uncompressed", encoding));
  if (!state.token.empty() && !open_without_token(req.path) &&
      !token_matches(state.token, req.header("Authorization"))) {
    res.set_header("WWW-Authenticate", "Bearer");
    return refuse(401, "this server needs a token: send the header \"Authorization: Bearer <token>\"");
  }
  return false;
}

std::string log_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\')
      out += c;
    else
      out += fmt::format("\\x{:02x}", byte);
  }
  return out;
}

std::string endpoint_label(const HttpRequest& req) {
  HttpRequest copy;
  copy.path = req.path;
  const Endpoint endpoint = find_endpoint(copy);
  if (endpoint.methods == 0) return "other";
  return endpoint.label.empty() ? copy.path : std::string(endpoint.label);
}

void answer_request(ServeState& state, HttpRequest& req, HttpResponse& res) {
  const Endpoint endpoint = find_endpoint(req);
  if (endpoint.methods == 0)
    return send_error(
        req, res, 404,
        fmt::format("no such endpoint: {} {} (the API: GET /, POST /predict, GET /health, /corrections, /v2/...)",
                    req.method, req.path));
  const std::string allow = endpoint.methods == kGet    ? "GET, HEAD"
                            : endpoint.methods == kPost ? "POST"
                                                        : "GET, HEAD, POST";
  if (req.method == "OPTIONS") {
    res.status = 204;
    res.set_header("Allow", allow + ", OPTIONS");
    return;
  }
  const bool allowed = ((endpoint.methods & kGet) && (req.method == "GET" || req.method == "HEAD")) ||
                       ((endpoint.methods & kPost) && req.method == "POST");
  if (!allowed) {
    res.set_header("Allow", allow);
    return send_error(req, res, 405, fmt::format("{} is not allowed on {}: use {}", req.method, req.path, allow));
  }
  try {
    endpoint.handle(state, req, res);
  } catch (const HttpError& e) {
    send_error(req, res, e.status, e.what());
  } catch (const InputError& e) {
    send_error(req, res, 400, e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "serve: internal error on {} {}: {}\n", log_escaped(req.method), log_escaped(req.path),
               e.what());
    res = {};
    send_error(req, res, 500, "internal error while handling the request (logged by the server)");
  }
}

}  // namespace hdr::cli

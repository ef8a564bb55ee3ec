#include "tools/cli/http_api.h"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <span>

#include "engine/backends/build_info.h"
#include "tools/cli/http_request.h"
#include "tools/cli/prediction_json.h"
#include "tools/web_page.h"

namespace hdr::cli {
namespace {

using httplib::Request;
using httplib::Response;
using Json = nlohmann::json;

void handle_predict(ServeState& state, const Request& req, Response& res) {
  const std::string bytes = image_bytes(req);
  // A worker's turn covers decoding too: it is the costly part for a large photo (up to
  // limits.max_pixels), so at most --workers images are in memory decoded at once.
  auto predictor = state.pool.acquire();
  const std::vector<float> image = preprocess_image(
      std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "image", state.geometry, state.limits);
  const std::vector<float> probabilities = predictor->predict(image);
  Json out = {{"status", "success"}};
  out.update(prediction_json(probabilities, 3));
  if (req.get_param_value("preprocessed") == "1") out["preprocessed"] = to_bytes(image);
  send_json(res, 200, out);
}

void handle_health(ServeState& state, Response& res) {
  const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - state.started).count();
  send_json(res, 200,
            {{"status", "ok"},
             {"model", state.model_name},
             {"parameters", state.parameters},
             {"device", state.pool.device()},
             {"workers", state.pool.size()},
             {"uptime_seconds", std::round(uptime * 10) / 10},
             {"requests_served", state.requests.load()},
             {"version", HDR_VERSION}});
}

// --- Open Inference Protocol (KServe v2) ------------------------------------------------------

// The model a /v2/models/{name}[/versions/{v}] path names: this server's one model, version 1.
void require_model(const ServeState& state, const Request& req) {
  const std::string name = req.matches[1];
  const std::string version = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
  if (name != state.model_name)
    throw HttpError(404, fmt::format("no model '{}' here: this server serves '{}'", name, state.model_name));
  if (!version.empty() && version != "1")
    throw HttpError(404, fmt::format("model '{}' has no version '{}': it has version 1", name, version));
}

Json model_metadata(const ServeState& state) {
  const DigitGeometry& g = state.geometry;
  return {{"name", state.model_name},
          {"versions", {"1"}},
          {"platform", "hdr"},
          {"inputs", {{{"name", kInputName}, {"datatype", "FP32"}, {"shape", {-1, 1, g.side, g.side}}}}},
          {"outputs", {{{"name", kOutputName}, {"datatype", "FP32"}, {"shape", {-1, state.classes}}}}}};
}

// The worker's turn covers parsing: the JSON document takes about 19 times the body, so at most
// --workers of them are in memory at once, whatever the number of clients.
void handle_infer(ServeState& state, const Request& req, Response& res) {
  require_model(state, req);
  auto predictor = state.pool.acquire();
  const Json body = parse_json_body(req);
  int64_t n = 0;
  const std::vector<float> images = infer_input(body, req.body.size(), state.geometry.side, n);
  const std::vector<float> probabilities = predictor->predict(images);
  Json out = {
      {"model_name", state.model_name},
      {"model_version", "1"},
      {"outputs",
       {{{"name", kOutputName}, {"datatype", "FP32"}, {"shape", {n, state.classes}}, {"data", probabilities}}}}};
  if (body.contains("id")) out["id"] = body["id"];
  send_json(res, 200, out);
}

// --- Routing ------------------------------------------------------------------------------------

enum Method { kGet = 1, kPost = 2 };

// Registers `handler` for the method on `pattern`, and 405 (with Allow) for the others.
void route(httplib::Server& server, const std::string& pattern, int methods, const httplib::Server::Handler& handler) {
  const std::string allow = methods == kGet ? "GET, HEAD" : "POST";
  const auto refuse = [allow](const Request& req, Response& res) {
    res.set_header("Allow", allow);
    send_error(req, res, 405, fmt::format("{} is not allowed on {}: use {}", req.method, req.path, allow));
  };
  server.Get(pattern, (methods & kGet) ? handler : refuse);
  server.Post(pattern, (methods & kPost) ? handler : refuse);
  server.Put(pattern, refuse);
  server.Patch(pattern, refuse);
  server.Delete(pattern, refuse);
  server.Options(pattern, [allow](const Request&, Response& res) {
    res.set_header("Allow", allow + ", OPTIONS");
    res.status = 204;
  });
}

// The message of an error cpp-httplib raised itself (no route, body too large, bad request).
std::string library_error_message(const Request& req, int status, size_t max_body) {
  switch (status) {
    case 404:
      return fmt::format("no such endpoint: {} {} (the API: GET /, POST /predict, GET /health, /v2/...)", req.method,
                         req.path);
    case 413: return fmt::format("the request body is over the limit of {} MiB", max_body >> 20);
    case 414: return "the request URI is too long";
    case 400: return "malformed request (its headers or multipart body could not be parsed)";
    default: return fmt::format("the request failed with HTTP status {}", status);
  }
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

bool refuse_request(const ServeState& state, const Request& req, Response& res) {
  // The body, if any, is left unread: the connection ends with the answer, or its bytes would be
  // read as the next request.
  auto refuse = [&](int status, const std::string& message) {
    send_error(req, res, status, message);
    res.set_header("Connection", "close");
    return true;
  };
  if (req.version == "HTTP/1.1" && !req.has_header("Host"))
    return refuse(400, "the request has no Host header (HTTP/1.1 requires one)");
  if (req.get_header_value_count("Content-Length") > 1)
    return refuse(400, "the request has more than one Content-Length");
  if (req.has_header("Transfer-Encoding")) {
    if (req.has_header("Content-Length"))
      return refuse(400, "the request has both Content-Length and Transfer-Encoding");
    return refuse(411, "send the body with a Content-Length: chunked request bodies are not accepted");
  }
  if (req.method == "POST" && !req.has_header("Content-Length"))
    return refuse(411, "a POST request needs a Content-Length");
  if (const std::string encoding = req.get_header_value("Content-Encoding");
      !encoding.empty() && encoding != "identity")
    return refuse(415, fmt::format("Content-Encoding '{}' is not accepted: send the body uncompressed", encoding));
  if (!state.token.empty() && !open_without_token(req.path) &&
      !token_matches(state.token, req.get_header_value("Authorization"))) {
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

void install_routes(httplib::Server& server, ServeState& state) {
  route(server, "/", kGet, [](const Request&, Response& res) {
    res.set_content(kIndexHtml.data(), kIndexHtml.size(), "text/html; charset=utf-8");
  });
  route(server, "/predict", kPost,
        guarded([&state](const Request& req, Response& res) { handle_predict(state, req, res); }));
  route(server, "/health", kGet, [&state](const Request&, Response& res) { handle_health(state, res); });

  route(server, "/v2", kGet, [](const Request&, Response& res) {
    send_json(res, 200, {{"name", "hdr"}, {"version", HDR_VERSION}, {"extensions", Json::array()}});
  });
  route(server, "/v2/health/live", kGet, [](const Request&, Response& res) { send_json(res, 200, {{"live", true}}); });
  route(server, "/v2/health/ready", kGet, [](const Request&, Response& res) {
    send_json(res, 200, {{"ready", true}});
  });
  const std::string model = "/v2/models/([^/]+)(?:/versions/([^/]+))?";
  route(server, model, kGet, guarded([&state](const Request& req, Response& res) {
          require_model(state, req);
          send_json(res, 200, model_metadata(state));
        }));
  route(server, model + "/ready", kGet, guarded([&state](const Request& req, Response& res) {
          require_model(state, req);
          send_json(res, 200, {{"name", state.model_name}, {"ready", true}});
        }));
  route(server, model + "/infer", kPost,
        guarded([&state](const Request& req, Response& res) { handle_infer(state, req, res); }));

  const size_t max_body = state.limits.max_bytes;
  server.set_error_handler([max_body](const Request& req, Response& res) {
    if (res.body.empty()) send_error(req, res, res.status, library_error_message(req, res.status, max_body));
  });
  server.set_exception_handler([](const Request& req, Response& res, std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    fmt::print(stderr, "serve: internal error on {} {}: {}\n", req.method, req.path, what);
    send_error(req, res, 500, "internal error while handling the request (logged by the server)");
  });
}

}  // namespace hdr::cli

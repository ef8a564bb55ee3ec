#include "tools/cli/http_api.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>

#include "engine/errors.h"
#include "engine/build_info.h"
#include "tools/cli/prediction_json.h"
#include "tools/web_page.h"

namespace hdr::cli {
namespace {

using httplib::Request;
using httplib::Response;
using Json = nlohmann::json;

// A request the API refuses, with its status; guarded() turns it into the JSON error.
class HttpError : public std::runtime_error {
 public:
  HttpError(int code, const std::string& message) : std::runtime_error(message), status(code) {}
  int status;
};

bool is_v2(const Request& req) { return req.path.starts_with("/v2"); }

void send_json(Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// The seed API's error form, or the Open Inference Protocol's under /v2.
void send_error(const Request& req, Response& res, int status, const std::string& message) {
  send_json(res, status, is_v2(req) ? Json{{"error", message}} : Json{{"status", "error"}, {"message", message}});
}

// A handler whose refusals (HttpError) and bad input (InputError) become JSON errors; anything
// else reaches the exception handler (500).
httplib::Server::Handler guarded(std::function<void(const Request&, Response&)> handler) {
  return [handler = std::move(handler)](const Request& req, Response& res) {
    try {
      handler(req, res);
    } catch (const HttpError& e) {
      send_error(req, res, e.status, e.what());
    } catch (const InputError& e) {
      send_error(req, res, 400, e.what());
    }
  };
}

// Deep enough for an infer request with nested data ([N][1][28][28] inside inputs[]), shallow
// enough that nothing that walks or copies the document can overflow the stack.
constexpr int kMaxJsonDepth = 12;

Json parse_json_body(const Request& req) {
  try {
    return Json::parse(req.body, [](int depth, Json::parse_event_t, Json&) {
      if (depth > kMaxJsonDepth)
        throw HttpError(400, fmt::format("the JSON body is nested deeper than {} levels", kMaxJsonDepth));
      return true;
    });
  } catch (const Json::parse_error& e) {
    throw HttpError(400, fmt::format("the request body is not valid JSON (error at byte {})", e.byte));
  }
}

// The media type of the request, lower-case, without parameters ("multipart/form-data").
std::string media_type(const Request& req) {
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return type;
}

// Base64 through OpenSSL's decoder (already linked for cpp-httplib); it skips line breaks.
std::string decode_base64(std::string_view text, const std::string& field) {
  std::unique_ptr<EVP_ENCODE_CTX, decltype(&EVP_ENCODE_CTX_free)> ctx(EVP_ENCODE_CTX_new(), EVP_ENCODE_CTX_free);
  if (!ctx) throw std::bad_alloc();
  std::string out(text.size() / 4 * 3 + 3, '\0');
  int written = 0, tail = 0;
  EVP_DecodeInit(ctx.get());
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_DecodeUpdate(ctx.get(), dst, &written, reinterpret_cast<const unsigned char*>(text.data()), int(text.size())) < 0 ||
      EVP_DecodeFinal(ctx.get(), dst + written, &tail) < 0)
    throw HttpError(400, fmt::format("{} is not valid base64", field));
  out.resize(size_t(written + tail));
  return out;
}

// The encoded image of a /predict request, from whichever form the client sent.
std::string image_bytes(const Request& req) {
  const std::string type = media_type(req);
  if (type == "multipart/form-data") {
    if (!req.has_file("image"))
      throw HttpError(400, "the multipart body has no field 'image' (send the image file as field 'image')");
    return req.get_file_value("image").content;
  }
  if (type == "application/json") {
    const Json body = parse_json_body(req);
    if (!body.is_object() || !body.contains("image") || !body["image"].is_string())
      throw HttpError(400, R"(the JSON body needs a string field "image": a data URL "data:image/png;base64,..." or plain base64)");
    std::string_view text = body["image"].get_ref<const std::string&>();
    if (text.starts_with("data:")) {
      const size_t comma = text.find(',');
      if (comma == std::string_view::npos || !text.substr(0, comma).ends_with(";base64"))
        throw HttpError(400, R"(field "image": a data URL must be base64-encoded ("data:image/png;base64,..."))");
      text.remove_prefix(comma + 1);
    }
    return decode_base64(text, R"(field "image")");
  }
  if (type.starts_with("image/")) return req.body;
  throw HttpError(415, fmt::format("unsupported Content-Type '{}': send multipart/form-data with a file field 'image', "
                                   "JSON {{\"image\": \"data:image/png;base64,...\"}}, or the image itself as image/png, "
                                   "image/jpeg, image/bmp or image/gif",
                                   type));
}

void handle_predict(ServeState& state, const Request& req, Response& res) {
  const std::string bytes = image_bytes(req);
  // A worker's turn covers decoding too: it is the costly part for a large photo (up to
  // limits.max_pixels), so at most --workers images are in memory decoded at once.
  auto predictor = state.pool.acquire();
  const std::vector<float> image =
      preprocess_image(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "image",
                       state.geometry, state.limits);
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

constexpr const char* kInputName = "input";
constexpr const char* kOutputName = "probabilities";

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

// Appends the numbers of a (possibly nested) JSON array, row-major, to out.
void flatten_numbers(const Json& data, std::vector<float>& out) {
  if (data.is_array()) {
    for (const Json& item : data) flatten_numbers(item, out);
    return;
  }
  if (!data.is_number())
    throw HttpError(400, fmt::format("input '{}': data must hold numbers, not {}", kInputName, data.type_name()));
  const double v = data.get<double>();
  if (!std::isfinite(v) || std::abs(v) > 3.4e38)
    throw HttpError(400, fmt::format("input '{}': data holds a value that is not a finite FP32", kInputName));
  out.push_back(float(v));
}

// The images of an infer request: its one FP32 input of shape [N, 1, side, side].
std::vector<float> infer_input(const ServeState& state, const Json& body, size_t body_bytes, int64_t& n) {
  if (!body.is_object() || !body.contains("inputs") || !body["inputs"].is_array())
    throw HttpError(400, R"(the request needs "inputs": [{"name", "shape", "datatype", "data"}])");
  const Json& inputs = body["inputs"];
  if (inputs.size() != 1)
    throw HttpError(400, fmt::format("the model has one input, '{}'; the request has {}", kInputName, inputs.size()));
  const Json& input = inputs[0];
  if (!input.is_object() || input.value("name", "") != kInputName)
    throw HttpError(400, fmt::format("unknown input '{}': the model's input is '{}'",
                                     input.is_object() ? input.value("name", "") : "", kInputName));
  if (input.value("datatype", "") != "FP32")
    throw HttpError(400, fmt::format("input '{}': datatype must be FP32, not '{}'", kInputName, input.value("datatype", "")));
  const int side = state.geometry.side;
  const Json shape = input.value("shape", Json());
  const bool shape_ok = shape.is_array() && shape.size() == 4 && std::all_of(shape.begin(), shape.end(), [](const Json& d) {
                          return d.is_number_integer() && d.get<int64_t>() >= 0;
                        }) && shape[1] == 1 && shape[2] == side && shape[3] == side;
  if (!shape_ok)
    throw HttpError(400, fmt::format("input '{}': shape must be [N, 1, {}, {}], not {}", kInputName, side, side, shape.dump()));
  n = shape[0].get<int64_t>();
  // Each value takes at least two bytes of JSON ("0,"): a larger N cannot be in this body.
  const int64_t per_image = int64_t(side) * side;
  if (n > int64_t(body_bytes) / 2 / per_image + 1)
    throw HttpError(400, fmt::format("input '{}': shape {} holds more values than a {}-byte body can", kInputName,
                                     shape.dump(), body_bytes));
  if (!input.contains("data")) throw HttpError(400, fmt::format("input '{}' has no data", kInputName));
  std::vector<float> images;
  images.reserve(size_t(n * per_image));
  flatten_numbers(input["data"], images);
  if (int64_t(images.size()) != n * per_image)
    throw HttpError(400, fmt::format("input '{}': shape {} needs {} values, data holds {}", kInputName, shape.dump(),
                                     n * per_image, images.size()));
  if (body.contains("outputs")) {
    if (!body["outputs"].is_array()) throw HttpError(400, R"("outputs" must be an array of {"name"})");
    for (const Json& o : body["outputs"])
      if (!o.is_object() || o.value("name", "") != kOutputName)
        throw HttpError(400, fmt::format("unknown output {}: the model's output is '{}'", o.dump(), kOutputName));
  }
  return images;
}

void handle_infer(ServeState& state, const Request& req, Response& res) {
  require_model(state, req);
  const Json body = parse_json_body(req);
  int64_t n = 0;
  const std::vector<float> images = infer_input(state, body, req.body.size(), n);
  const std::vector<float> probabilities = state.pool.acquire()->predict(images);
  Json out = {{"model_name", state.model_name},
              {"model_version", "1"},
              {"outputs", {{{"name", kOutputName}, {"datatype", "FP32"}, {"shape", {n, state.classes}},
                            {"data", probabilities}}}}};
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
    case 413:
      return fmt::format("the request body is over the limit of {} MiB", max_body >> 20);
    case 414:
      return "the request URI is too long";
    case 400:
      return "malformed request (its headers or multipart body could not be parsed)";
    default:
      return fmt::format("the request failed with HTTP status {}", status);
  }
}

}  // namespace

void install_routes(httplib::Server& server, ServeState& state) {
  route(server, "/", kGet, [](const Request&, Response& res) {
    res.set_content(kIndexHtml.data(), kIndexHtml.size(), "text/html; charset=utf-8");
  });
  route(server, "/predict", kPost, guarded([&state](const Request& req, Response& res) { handle_predict(state, req, res); }));
  route(server, "/health", kGet, [&state](const Request&, Response& res) { handle_health(state, res); });

  route(server, "/v2", kGet, [](const Request&, Response& res) {
    send_json(res, 200, {{"name", "hdr"}, {"version", HDR_VERSION}, {"extensions", Json::array()}});
  });
  route(server, "/v2/health/live", kGet, [](const Request&, Response& res) { send_json(res, 200, {{"live", true}}); });
  route(server, "/v2/health/ready", kGet, [](const Request&, Response& res) { send_json(res, 200, {{"ready", true}}); });
  const std::string model = "/v2/models/([^/]+)(?:/versions/([^/]+))?";
  route(server, model, kGet, guarded([&state](const Request& req, Response& res) {
          require_model(state, req);
          send_json(res, 200, model_metadata(state));
        }));
  route(server, model + "/ready", kGet, guarded([&state](const Request& req, Response& res) {
          require_model(state, req);
          send_json(res, 200, {{"name", state.model_name}, {"ready", true}});
        }));
  route(server, model + "/infer", kPost, guarded([&state](const Request& req, Response& res) { handle_infer(state, req, res); }));

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

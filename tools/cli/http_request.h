// The bodies of `hdr serve`'s POST requests, parsed and checked, and the JSON replies to bad
// ones: the encoded image of a /predict request (multipart field "image", JSON {"image": data
// URL or base64}, or the raw image/* bytes) and the images of a KServe v2 infer request. Apart
// from the routes (http_api.cpp) and from the model, so that tests/fuzz/fuzz_serve_body.cpp can
// drive them with any bytes. Everything a client can get wrong is an HttpError carrying its
// status (400, 415) or an InputError (400); any other exception is a 500, a bug.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/io/image_io.h"
#include "tools/cli/http_message.h"

namespace hdr::cli {

// A request the API refuses, with its status; the routes turn it into a JSON error.
class HttpError : public std::runtime_error {
 public:
  HttpError(int code, const std::string& message) : std::runtime_error(message), status(code) {}
  int status;
};

// The model's one input and one output, as the Open Inference Protocol names them.
inline constexpr const char* kInputName = "input";
inline constexpr const char* kOutputName = "probabilities";

// Replies: a JSON body with its status; an error in the seed API's form ({"status": "error",
// "message"}) or, under /v2, the Open Inference Protocol's ({"error"}).
void send_json(HttpResponse& res, int status, const nlohmann::json& body);
void send_error(const HttpRequest& req, HttpResponse& res, int status, const std::string& message);

// The body as JSON, nested no deeper than an infer request needs (400 when it is not JSON).
nlohmann::json parse_json_body(const HttpRequest& req);

// The encoded image of a /predict request, from whichever form the client sent (400, 415).
std::string image_bytes(const HttpRequest& req);

// The images of an infer request (body parsed from body_bytes bytes): its one FP32 input of
// shape [N, 1, side, side], row-major; n receives N.
std::vector<float> infer_input(const nlohmann::json& body, size_t body_bytes, int side, int64_t& n);

// An infer request with "parameters": {"number": true}: its input is one image of a line of
// digits, FP32 [1, 1, H, W] (H, W up to kMaxLineSide) in [0, 1]; and the outputs it may name.
inline constexpr int kMaxLineSide = 4096;
inline constexpr std::array<const char*, 3> kNumberOutputs{"number", "digit_boxes", kOutputName};
bool asks_for_number(const nlohmann::json& body);
DecodedImage infer_line_input(const nlohmann::json& body, size_t body_bytes);

}  // namespace hdr::cli

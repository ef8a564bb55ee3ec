// Fuzz target: the request bodies of `hdr serve` (tools/cli/http_request.*, multipart.*) with
// serve's handlers minus the server and the model. Input: a first line "predict CONTENT-TYPE" or
// "infer CONTENT-TYPE" (anything else: predict), then the body. A refusal must be an HttpError
// or InputError (a 4xx reply); any other exception would be a 500: a finding here.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/errors.h"
#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"
#include "tests/fuzz/fuzz_limits.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/cli/http_request.h"

namespace {

using namespace hdr;

constexpr int kSide = 28;

// serve's /predict up to the model: what it hands to a Predictor must be well formed.
void predict(const cli::HttpRequest& req) {
  const std::string bytes = cli::image_bytes(req);
  const std::vector<float> image = preprocess_image(
      std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "image", {}, fuzz::kImageLimits);
  if (image.size() != size_t(kSide * kSide) ||
      !std::all_of(image.begin(), image.end(), [](float v) { return v >= 0.0f && v <= 1.0f; }))
    fuzz::finding("a /predict body gave a model input that is not 28 x 28 values in [0, 1]");
}

// serve's infer up to the model.
void infer(const cli::HttpRequest& req) {
  const nlohmann::json body = cli::parse_json_body(req);
  if (cli::asks_for_number(body)) {
    const DecodedImage line = cli::infer_line_input(body, req.body.size());
    if (line.width < 1 || line.height < 1 || line.width > cli::kMaxLineSide || line.height > cli::kMaxLineSide ||
        line.pixels.size() != size_t(line.width) * size_t(line.height))
      fuzz::finding("a number infer body gave an image that does not match its shape");
    return;
  }
  int64_t n = 0;
  const std::vector<float> images = cli::infer_input(body, req.body.size(), kSide, n);
  if (n < 0 || images.size() != size_t(n) * kSide * kSide ||
      !std::all_of(images.begin(), images.end(), [](float v) { return std::isfinite(v); }))
    fuzz::finding("an infer body gave a model input that does not match its shape");
  cli::HttpResponse res;
  nlohmann::json out = {{"model_name", "fuzz"}};
  if (body.contains("id")) out["id"] = body["id"];
  cli::send_json(res, 200, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = std::min(input.find('\n'), input.size());
  std::string_view first = input.substr(0, eol);
  const bool is_infer = first.starts_with("infer ");
  first.remove_prefix(std::min(first.find(' ') + 1, first.size()));
  cli::HttpRequest req;
  req.method = "POST";
  req.set_target(is_infer ? "/v2/models/fuzz/infer" : "/predict");
  req.headers = {{"Host", "localhost"}, {"Content-Type", std::string(first)}};
  req.body = std::string(input.substr(std::min(eol + 1, input.size())));
  try {
    is_infer ? infer(req) : predict(req);
  } catch (const cli::HttpError& e) {
    cli::HttpResponse res;
    cli::send_error(req, res, e.status, e.what());  // as the routes answer it
  } catch (const InputError&) {
  } catch (const std::exception& e) {
    fuzz::finding(std::string("a 500 on ") + req.path + ": " + e.what());
  }
  return 0;
}

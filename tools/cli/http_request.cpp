// Serve's request bodies parsed, and the replies to bad ones; the contract is in http_request.h.
#include "tools/cli/http_request.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <memory>
#include <string_view>

#include "engine/core/errors.h"
#include "tools/cli/multipart.h"

namespace hdr::cli {

using Request = HttpRequest;
using Response = HttpResponse;
using Json = nlohmann::json;

void send_json(Response& res, int status, const Json& body) {
  res.status = status;
  // Replace, not throw: an error message may quote a header that is not UTF-8 (found by
  // fuzz_serve_body: a Content-Type byte 0x99 turned the 415 into a 500).
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void send_error(const Request& req, Response& res, int status, const std::string& message) {
  const bool v2 = req.path.starts_with("/v2");
  send_json(res, status, v2 ? Json{{"error", message}} : Json{{"status", "error"}, {"message", message}});
}

namespace {

// Deep enough for an infer request with nested data ([N][1][28][28] inside inputs[]), shallow
// enough that nothing that walks or copies the document can overflow the stack.
constexpr int kMaxJsonDepth = 12;

}  // namespace

Json parse_json_body(const Request& req) {
  try {
    return Json::parse(req.body, [](int depth, Json::parse_event_t, Json&) {
      if (depth > kMaxJsonDepth)
        throw HttpError(400, fmt::format("the JSON body is nested deeper than {} levels", kMaxJsonDepth));
      return true;
    });
  } catch (const Json::parse_error& e) {
    throw HttpError(400, fmt::format("the request body is not valid JSON (error at byte {})", e.byte));
  } catch (const Json::out_of_range&) {
    // Found by fuzz_serve_body: a number beyond a double ("4e444") is out_of_range, not a
    // parse_error, and was a 500.
    throw HttpError(400, "the JSON body holds a number too large for a double");
  }
}

namespace {

// The media type of the request, lower-case, without parameters ("multipart/form-data").
std::string media_type(const Request& req) {
  std::string type = req.header("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return type;
}

// Base64 through OpenSSL's decoder; it skips line breaks.
std::string decode_base64(std::string_view text, const std::string& field) {
  std::unique_ptr<EVP_ENCODE_CTX, decltype(&EVP_ENCODE_CTX_free)> ctx(EVP_ENCODE_CTX_new(), EVP_ENCODE_CTX_free);
  if (!ctx) throw std::bad_alloc();
  std::string out(text.size() / 4 * 3 + 3, '\0');
  int written = 0, tail = 0;
  EVP_DecodeInit(ctx.get());
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_DecodeUpdate(ctx.get(), dst, &written, reinterpret_cast<const unsigned char*>(text.data()),
                       int(text.size())) < 0 ||
      EVP_DecodeFinal(ctx.get(), dst + written, &tail) < 0)
    throw HttpError(400, fmt::format("{} is not valid base64", field));
  out.resize(size_t(written + tail));
  return out;
}

}  // namespace

std::string image_bytes(const Request& req) {
  const std::string type = media_type(req);
  if (type == "multipart/form-data") {
    std::string_view image;
    int images = 0;
    for (const FormPart& part : multipart_parts(req.body, multipart_boundary(req.header("Content-Type"))))
      if (part.name == "image") image = part.content, ++images;
    if (images == 0)
      throw HttpError(400, "the multipart body has no field 'image' (send the image file as field 'image')");
    if (images > 1)
      throw HttpError(400, fmt::format("the multipart body has {} fields 'image': send one image", images));
    return std::string(image);
  }
  if (type == "application/json") {
    const Json body = parse_json_body(req);
    if (!body.is_object() || !body.contains("image") || !body["image"].is_string())
      throw HttpError(
          400, R"(the JSON body needs a string field "image": a data URL "data:image/png;base64,..." or plain base64)");
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
  throw HttpError(415,
                  fmt::format("unsupported Content-Type '{}': send multipart/form-data with a file field 'image', "
                              "JSON {{\"image\": \"data:image/png;base64,...\"}}, or the image itself as image/png, "
                              "image/jpeg, image/bmp or image/gif",
                              type));
}

namespace {

// Appends the numbers of a (possibly nested) JSON array, row-major, to out.
void flatten_numbers(const Json& data, std::vector<float>& out) {
  if (data.is_array()) {
    for (const Json& item : data) flatten_numbers(item, out);
    return;
  }
  if (!data.is_number())
    throw HttpError(400, fmt::format("input '{}': data must hold numbers, not {}", kInputName, data.type_name()));
  // The model's input is an image scaled to [0, 1] (GET /v2/models/{name} says so); a value
  // outside it is a client's mistake the answer would hide behind a confident prediction.
  const double v = data.get<double>();
  if (!(v >= 0.0 && v <= 1.0))
    throw HttpError(400, fmt::format("input '{}': value {} of data is {}, outside the input's range [0, 1]", kInputName,
                                     out.size(), v));
  out.push_back(float(v));
}

// A member as text for checks and messages: the string itself, else its JSON ("" when absent).
// (Json::value with a string default throws on a member of another type: a 500, found by
// fuzz_serve_body.)
std::string member_text(const Json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) return "";
  const Json& v = o[key];
  return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

namespace {

// The one FP32 input of an infer request, its shape [N, 1, H, W] judged by `shape_fits` (`wanted`
// says what it wants, for the message), and the output names the request may ask for checked.
struct InferTensor {
  Json shape;
  std::vector<float> values;
};

InferTensor infer_tensor(const Json& body, size_t body_bytes, const std::function<bool(const Json&)>& shape_fits,
                         const std::string& wanted, const std::vector<std::string>& outputs) {
  if (!body.is_object() || !body.contains("inputs") || !body["inputs"].is_array())
    throw HttpError(400, R"(the request needs "inputs": [{"name", "shape", "datatype", "data"}])");
  const Json& inputs = body["inputs"];
  if (inputs.size() != 1)
    throw HttpError(400, fmt::format("the model has one input, '{}'; the request has {}", kInputName, inputs.size()));
  const Json& input = inputs[0];
  if (!input.is_object() || member_text(input, "name") != kInputName)
    throw HttpError(
        400, fmt::format("unknown input '{}': the model's input is '{}'", member_text(input, "name"), kInputName));
  if (member_text(input, "datatype") != "FP32")
    throw HttpError(
        400, fmt::format("input '{}': datatype must be FP32, not '{}'", kInputName, member_text(input, "datatype")));
  Json shape = input.value("shape", Json());
  const bool shape_ok = shape.is_array() && shape.size() == 4 &&
                        std::all_of(shape.begin(), shape.end(),
                                    [](const Json& d) { return d.is_number_integer() && d.get<int64_t>() >= 0; }) &&
                        shape[1] == 1 && shape_fits(shape);
  if (!shape_ok)
    throw HttpError(400, fmt::format("input '{}': shape must be {}, not {}", kInputName, wanted, shape.dump()));
  const int64_t n = shape[0].get<int64_t>(), per_image = shape[2].get<int64_t>() * shape[3].get<int64_t>();
  // Each value takes at least two bytes of JSON ("0,"): a larger N cannot be in this body.
  if (per_image > 0 && n > int64_t(body_bytes) / 2 / per_image + 1)
    throw HttpError(400, fmt::format("input '{}': shape {} holds more values than a {}-byte body can", kInputName,
                                     shape.dump(), body_bytes));
  if (!input.contains("data")) throw HttpError(400, fmt::format("input '{}' has no data", kInputName));
  InferTensor out{shape, {}};
  out.values.reserve(size_t(n * per_image));
  flatten_numbers(input["data"], out.values);
  if (int64_t(out.values.size()) != n * per_image)
    throw HttpError(400, fmt::format("input '{}': shape {} needs {} values, data holds {}", kInputName, shape.dump(),
                                     n * per_image, out.values.size()));
  if (body.contains("outputs")) {
    if (!body["outputs"].is_array()) throw HttpError(400, R"("outputs" must be an array of {"name"})");
    for (const Json& o : body["outputs"])
      if (!o.is_object() || std::find(outputs.begin(), outputs.end(), member_text(o, "name")) == outputs.end())
        throw HttpError(400,
                        fmt::format("unknown output {}: the outputs are '{}'", o.dump(), fmt::join(outputs, "', '")));
  }
  return out;
}

}  // namespace

std::vector<float> infer_input(const Json& body, size_t body_bytes, int side, int64_t& n) {
  InferTensor t = infer_tensor(body, body_bytes,
                               [side](const Json& shape) { return shape[2] == side && shape[3] == side; },
                               fmt::format("[N, 1, {}, {}]", side, side), {kOutputName});
  n = t.shape[0].get<int64_t>();
  return std::move(t.values);
}

bool asks_for_number(const Json& body) {
  return body.is_object() && body.contains("parameters") && body["parameters"].is_object() &&
         body["parameters"].contains("number") && body["parameters"]["number"] == true;
}

DecodedImage infer_line_input(const Json& body, size_t body_bytes) {
  const auto fits = [](const Json& shape) {
    return shape[0] == 1 && shape[2] >= 1 && shape[2] <= kMaxLineSide && shape[3] >= 1 && shape[3] <= kMaxLineSide;
  };
  const InferTensor t = infer_tensor(body, body_bytes, fits,
                                     fmt::format("[1, 1, H, W] for a number, H and W up to {}", kMaxLineSide),
                                     {kNumberOutputs.begin(), kNumberOutputs.end()});
  DecodedImage image{t.shape[3].get<int>(), t.shape[2].get<int>(), 1, std::vector<uint8_t>(t.values.size())};
  for (size_t i = 0; i < t.values.size(); ++i)
    image.pixels[i] = uint8_t(std::lround(std::clamp(t.values[i], 0.0f, 1.0f) * 255));
  return image;
}

}  // namespace hdr::cli

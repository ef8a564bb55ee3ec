// Fuzz target: the request bodies of `hdr serve` (tools/cli/http_request.*) through cpp-httplib's
// own request parser (headers, Content-Length, multipart), with serve's handlers minus the model.
// Input: a first line "predict CONTENT-TYPE" or "infer CONTENT-TYPE" (anything else: predict),
// then the body. A refusal must be an HttpError or InputError (a 4xx reply); any other
// exception reaches the exception handler, which serve turns into a 500: a finding here.
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"
#include "tests/fuzz/fuzz_limits.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/cli/http_request.h"

namespace {

using namespace hdr;

// One request's bytes to read; the reply is dropped.
class RequestStream : public httplib::Stream {
 public:
  explicit RequestStream(std::string_view bytes) : bytes_(bytes) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, bytes_.size() - pos_);
    std::memcpy(ptr, bytes_.data() + pos_, n);
    pos_ += n;
    return ssize_t(n);
  }
  ssize_t write(const char*, size_t size) override { return ssize_t(size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 50000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

constexpr int kSide = 28;

// serve's handlers up to the model: what they hand to a Predictor must be well formed.
class ServeWithoutModel : public httplib::Server {
 public:
  ServeWithoutModel() {
    Post("/predict", cli::guarded([this](const httplib::Request& req, httplib::Response& res) {
           const std::string bytes = cli::image_bytes(req);
           const std::vector<float> image = preprocess_image(
               std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "image", {}, limits_);
           if (image.size() != size_t(kSide * kSide) ||
               !std::all_of(image.begin(), image.end(), [](float v) { return v >= 0.0f && v <= 1.0f; }))
             fuzz::finding("a /predict body gave a model input that is not 28 x 28 values in [0, 1]");
           cli::send_json(res, 200, {{"preprocessed", to_bytes(image)}});
         }));
    Post("/v2/models/fuzz/infer", cli::guarded([](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = cli::parse_json_body(req);
           int64_t n = 0;
           const std::vector<float> images = cli::infer_input(body, req.body.size(), kSide, n);
           if (n < 0 || images.size() != size_t(n) * kSide * kSide ||
               !std::all_of(images.begin(), images.end(), [](float v) { return std::isfinite(v); }))
             fuzz::finding("an infer body gave a model input that does not match its shape");
           nlohmann::json out = {{"model_name", "fuzz"}};
           if (body.contains("id")) out["id"] = body["id"];
           cli::send_json(res, 200, out);
         }));
    set_exception_handler([](const httplib::Request& req, httplib::Response&, std::exception_ptr error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        fuzz::finding("a 500 on " + req.path + ": " + e.what());
      } catch (...) {
        fuzz::finding("a 500 on " + req.path + ": an exception that is not a std::exception");
      }
    });
    set_payload_max_length(limits_.max_bytes);  // as serve does
  }

  void handle(std::string_view request) {
    RequestStream stream(request);
    bool closed = false;
    process_request(stream, true, closed, nullptr);
  }

 private:
  ImageLimits limits_ = fuzz::kImageLimits;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ServeWithoutModel server;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = std::min(input.find('\n'), input.size());
  std::string_view first = input.substr(0, eol);
  const std::string_view body = input.substr(std::min(eol + 1, input.size()));
  const bool infer = first.starts_with("infer ");
  first.remove_prefix(std::min(first.find(' ') + 1, first.size()));
  std::string request = infer ? "POST /v2/models/fuzz/infer HTTP/1.1\r\n" : "POST /predict HTTP/1.1\r\n";
  request += "Host: localhost\r\nContent-Type: ";
  request += first;
  request += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  request += body;
  server.handle(request);
  return 0;
}

// `hdr serve` as a user's client sees it, over loopback: the seed API (/predict, /health), the
// page, the Open Inference Protocol (KServe v2), every error code, many clients at once, a
// malformed and an oversized body, a client that stalls, and a clean stop on SIGTERM.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "engine/io/idx.h"
#include "engine/io/image_io.h"
#include "tests/mnist_test_set.h"
#include "tests/process.h"
#include "tests/server_process.h"
#include "tests/trained_model.h"

namespace hdr {
namespace {

using Json = nlohmann::json;

std::span<const uint8_t> digit(int i) { return test::mnist_digit(i); }
int label(int i) { return test::mnist_label(i); }

std::string png_of_digit(int i) {
  const std::vector<uint8_t> png = encode_png(digit(i), 28, 28);
  return {png.begin(), png.end()};
}

// The first test digits, which the shared model classifies right with high confidence.
constexpr int kDigits = 8;

// One server for the whole suite, started on first use (inside a test, so a failure fails it).
test::ServerProcess& server() {
  static test::ServerProcess process(test::tutorial_model().string(),
                                     {"--device", "cpu", "--workers", "2", "--timeout", "1"});
  return process;
}

httplib::Client client() {
  httplib::Client c("127.0.0.1", server().port());
  c.set_read_timeout(30, 0);
  return c;
}

// The status of a response, -1 when there was none (the test then fails, instead of crashing).
int status_of(const httplib::Result& r) { return r ? r->status : -1; }
std::string body_of(const httplib::Result& r) {
  return r ? r->body : "(no response: " + httplib::to_string(r.error()) + ")";
}

Json json_of(const httplib::Result& r) {
  EXPECT_TRUE(r) << "no response: " << httplib::to_string(r.error());
  if (!r) return Json();
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << r->body;
  return Json::parse(r->body, nullptr, false);
}

// The seed API's error form with the expected status and a message holding `needle`.
void expect_seed_error(const httplib::Result& r, int status, const std::string& needle) {
  const Json body = json_of(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(body.value("status", ""), "error") << r->body;
  EXPECT_NE(body.value("message", "").find(needle), std::string::npos) << r->body;
}

void expect_v2_error(const httplib::Result& r, int status, const std::string& needle) {
  const Json body = json_of(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_NE(body.value("error", "").find(needle), std::string::npos) << r->body;
}

// Checks a /predict success for digit i: the contract's fields, probabilities summing to 1.
void expect_prediction_of(const httplib::Result& r, int i) {
  const Json body = json_of(r);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body["status"], "success");
  EXPECT_EQ(body["prediction"], label(i)) << r->body;
  ASSERT_EQ(body["probabilities"].size(), 10u);
  double sum = 0;
  for (const Json& p : body["probabilities"]) sum += p.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-4);
  EXPECT_EQ(body["confidence"], body["probabilities"][size_t(label(i))]);
  ASSERT_EQ(body["top"].size(), 3u);
  EXPECT_EQ(body["top"][0][0], label(i));
  EXPECT_GE(body["top"][0][1].get<double>(), body["top"][1][1].get<double>());
  EXPECT_GE(body["top"][1][1].get<double>(), body["top"][2][1].get<double>());
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(size_t(n));
  return out;
}

TEST(Serve, HealthNamesTheModelAndCountsRequests) {
  auto c = client();
  const Json first = json_of(c.Get("/health"));
  EXPECT_EQ(first["status"], "ok");
  EXPECT_EQ(first["model"], "cnn_tutorial");
  EXPECT_EQ(first["parameters"], 93322);  // seed 004's network, as Keras counts it
  EXPECT_NE(first["device"].get<std::string>().find("cpu"), std::string::npos);
  EXPECT_EQ(first["workers"], 2);
  EXPECT_TRUE(first["uptime_seconds"].is_number());
  // The count is taken after each response is sent: poll until three more requests show.
  const int64_t before = first["requests_served"].get<int64_t>();
  for (int i = 0; i < 2; ++i) ASSERT_EQ(status_of(c.Post("/predict", png_of_digit(i), "image/png")), 200);
  int64_t now = before;
  for (int tries = 0; tries < 100 && now < before + 3; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    now = json_of(c.Get("/health"))["requests_served"].get<int64_t>();
  }
  EXPECT_GE(now, before + 3);
}

TEST(Serve, PageIsServedWithItsCanvas) {
  const auto r = client().Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(r->body.find("id=\"canvas\""), std::string::npos);
  EXPECT_EQ(r->body.find("http://"), std::string::npos);  // nothing from the network
  EXPECT_EQ(r->body.find("https://"), std::string::npos);
}

TEST(Serve, PredictTakesMultipart) {
  auto c = client();
  for (int i = 0; i < kDigits; ++i) {
    const httplib::MultipartFormDataItems items = {{"image", png_of_digit(i), "digit.png", "image/png"}};
    expect_prediction_of(c.Post("/predict", items), i);
  }
}

TEST(Serve, PredictTakesJsonDataUrlsAndPlainBase64) {
  auto c = client();
  expect_prediction_of(c.Post("/predict", Json{{"image", "data:image/png;base64," + base64(png_of_digit(0))}}.dump(),
                              "application/json"),
                       0);
  expect_prediction_of(c.Post("/predict", Json{{"image", base64(png_of_digit(1))}}.dump(), "application/json"), 1);
}

TEST(Serve, PredictTakesRawImageBytes) {
  expect_prediction_of(client().Post("/predict", png_of_digit(2), "image/png"), 2);
}

TEST(Serve, PreprocessedImageOnRequest) {
  auto c = client();
  const Json with = json_of(c.Post("/predict?preprocessed=1", png_of_digit(3), "image/png"));
  const Json without = json_of(c.Post("/predict", png_of_digit(3), "image/png"));
  ASSERT_EQ(with["preprocessed"].size(), 784u);
  EXPECT_FALSE(without.contains("preprocessed"));
  // An MNIST digit passes through preprocessing nearly unchanged.
  double l2 = 0;
  for (size_t p = 0; p < 784; ++p) {
    const double d = (with["preprocessed"][p].get<double>() - digit(3)[p]) / 255.0;
    l2 += d * d;
  }
  EXPECT_LT(std::sqrt(l2), 1.0);
}

TEST(Serve, PredictReadsANumberOnRequest) {
  const DecodedImage line = test::mnist_line({0, 1, 2, 3});
  const std::vector<uint8_t> png = encode_png(line.pixels, line.width, line.height);
  const httplib::Result r = client().Post("/predict?number=1", std::string(png.begin(), png.end()), "image/png");
  const Json body = json_of(r);
  ASSERT_EQ(status_of(r), 200) << body_of(r);
  EXPECT_EQ(body["status"], "success");
  EXPECT_EQ(body["number"], "7210");
  ASSERT_EQ(body["digits"].size(), 4u);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(body["digits"][k]["prediction"], label(int(k)));
    EXPECT_EQ(body["digits"][k]["top"].size(), 3u);
    EXPECT_GE(body["digits"][k]["box"]["x"].get<int>(), 8 + 28 * int(k));
  }
  const std::vector<uint8_t> blank = encode_png(std::vector<uint8_t>(64 * 32, 0), 64, 32);
  expect_seed_error(client().Post("/predict?number=1", std::string(blank.begin(), blank.end()), "image/png"), 400,
                    "no ink");
}

TEST(Serve, BadImagesAre400) {
  auto c = client();
  const std::vector<uint8_t> white(28 * 28, 255);
  const std::vector<uint8_t> blank = encode_png(white, 28, 28);
  expect_seed_error(c.Post("/predict", std::string(blank.begin(), blank.end()), "image/png"), 400, "no ink");
  expect_seed_error(c.Post("/predict", std::string("not an image at all"), "image/png"), 400,
                    "not a PNG, JPEG, BMP or GIF");
  const std::vector<uint8_t> one(1, 0);
  const std::vector<uint8_t> tiny = encode_png(one, 1, 1);
  expect_seed_error(c.Post("/predict", std::string(tiny.begin(), tiny.end()), "image/png"), 400, "1 x 1");
}

TEST(Serve, BadJsonBodiesAre400) {
  auto c = client();
  expect_seed_error(c.Post("/predict", "{\"image\": ", "application/json"), 400, "not valid JSON");
  // Found by fuzz_serve_body: a number beyond a double was a 500.
  expect_seed_error(c.Post("/predict", "{\"image\": 4e444}", "application/json"), 400, "too large for a double");
  expect_seed_error(c.Post("/predict", "{\"picture\": \"x\"}", "application/json"), 400, "string field \"image\"");
  expect_seed_error(c.Post("/predict", "{\"image\": \"data:image/png;base64,@@@@\"}", "application/json"), 400,
                    "not valid base64");
  expect_seed_error(c.Post("/predict", "{\"image\": \"data:image/png,abc\"}", "application/json"), 400,
                    "must be base64-encoded");
}

TEST(Serve, MultipartWithoutTheImageFieldIs400) {
  const httplib::MultipartFormDataItems items = {{"file", png_of_digit(0), "digit.png", "image/png"}};
  expect_seed_error(client().Post("/predict", items), 400, "no field 'image'");
}

TEST(Serve, MalformedMultipartBodyIs400) {
  expect_seed_error(client().Post("/predict", "--xyz\r\nContent-Disposition: garbage\r\n\r\nnot closed",
                                  "multipart/form-data; boundary=xyz"),
                    400, "the multipart body is malformed");
}

TEST(Serve, UnsupportedContentTypeIs415) {
  expect_seed_error(client().Post("/predict", "7", "text/plain"), 415, "unsupported Content-Type 'text/plain'");
  // Found by fuzz_serve_body: a type that is not UTF-8, quoted in the reply, was a 500.
  expect_seed_error(client().Post("/predict", "7", "application\x99/json"), 415,
                    "unsupported Content-Type 'application");
}

TEST(Serve, UnknownPathIs404AndWrongMethodIs405) {
  auto c = client();
  expect_seed_error(c.Get("/nothing-here"), 404, "no such endpoint: GET /nothing-here");
  const auto r = c.Get("/predict");
  expect_seed_error(r, 405, "GET is not allowed on /predict");
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  expect_seed_error(c.Delete("/health"), 405, "DELETE is not allowed");
  expect_v2_error(c.Put("/v2/models/cnn_tutorial/infer", "{}", "application/json"), 405, "PUT is not allowed");
}

TEST(Serve, BodyOverTheLimitIs413) {
  test::ServerProcess small(test::tutorial_model().string(), {"--device", "cpu", "--max-body", "1", "--quiet"});
  httplib::Client c("127.0.0.1", small.port());
  expect_seed_error(c.Post("/predict", std::string(size_t(1) << 20 | 1, 'x'), "image/png"), 413,
                    "over the limit of 1 MiB");
  EXPECT_EQ(status_of(c.Get("/health")), 200);  // still serving
  EXPECT_EQ(small.stop(), 0);
}

// --- Open Inference Protocol (KServe v2) ---

TEST(ServeV2, HealthAndMetadata) {
  auto c = client();
  EXPECT_EQ(json_of(c.Get("/v2/health/live"))["live"], true);
  EXPECT_EQ(json_of(c.Get("/v2/health/ready"))["ready"], true);
  EXPECT_EQ(json_of(c.Get("/v2"))["name"], "hdr");
  const Json meta = json_of(c.Get("/v2/models/cnn_tutorial"));
  EXPECT_EQ(meta["name"], "cnn_tutorial");
  EXPECT_EQ(meta["inputs"], Json::parse(R"([{"name": "input", "datatype": "FP32", "shape": [-1, 1, 28, 28]}])"));
  EXPECT_EQ(meta["outputs"], Json::parse(R"([{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}])"));
  EXPECT_EQ(json_of(c.Get("/v2/models/cnn_tutorial/versions/1")), meta);
  EXPECT_EQ(json_of(c.Get("/v2/models/cnn_tutorial/ready"))["ready"], true);
  expect_v2_error(c.Get("/v2/models/resnet50"), 404, "no model 'resnet50' here: this server serves 'cnn_tutorial'");
  expect_v2_error(c.Get("/v2/models/cnn_tutorial/versions/2/ready"), 404, "no version '2'");
}

// An infer request for MNIST test digits [first, first + n), scaled to [0, 1].
Json infer_request(int first, int n, bool nested = false) {
  Json data = Json::array();
  for (int i = first; i < first + n; ++i) {
    Json image = Json::array();
    for (uint8_t v : digit(i)) image.push_back(v / 255.0f);
    if (nested)
      data.push_back(image);
    else
      for (const Json& v : image) data.push_back(v);
  }
  return {{"id", "req-7"},
          {"inputs", {{{"name", "input"}, {"shape", {n, 1, 28, 28}}, {"datatype", "FP32"}, {"data", data}}}}};
}

TEST(ServeV2, InferABatchMatchesInferringEachImage) {
  auto c = client();
  const Json batch = json_of(
      c.Post("/v2/models/cnn_tutorial/infer", infer_request(0, kDigits).dump(), "application/json"));
  EXPECT_EQ(batch["model_name"], "cnn_tutorial");
  EXPECT_EQ(batch["id"], "req-7");
  ASSERT_EQ(batch["outputs"].size(), 1u);
  const Json& out = batch["outputs"][0];
  EXPECT_EQ(out["name"], "probabilities");
  EXPECT_EQ(out["datatype"], "FP32");
  EXPECT_EQ(out["shape"], Json::array({kDigits, 10}));
  ASSERT_EQ(out["data"].size(), size_t(kDigits) * 10);
  for (int i = 0; i < kDigits; ++i) {
    const Json one = json_of(
        c.Post("/v2/models/cnn_tutorial/infer", infer_request(i, 1, true).dump(), "application/json"));
    const Json& row = one["outputs"][0]["data"];
    int argmax = 0;
    for (int k = 0; k < 10; ++k) {
      EXPECT_NEAR(row[size_t(k)].get<double>(), out["data"][size_t(i * 10 + k)].get<double>(), 1e-5);
      if (row[size_t(k)] > row[size_t(argmax)]) argmax = k;
    }
    EXPECT_EQ(argmax, label(i));
  }
}

TEST(ServeV2, InferReadsANumberWhenTheParametersAskForOne) {
  const DecodedImage line = test::mnist_line({0, 1, 2, 3});
  std::vector<float> values;
  for (uint8_t b : line.pixels) values.push_back(b / 255.0f);
  const Json request = {
      {"parameters", {{"number", true}}},
      {"inputs",
       {{{"name", "input"}, {"datatype", "FP32"}, {"shape", {1, 1, line.height, line.width}}, {"data", values}}}}};
  auto c = client();
  const Json out = json_of(c.Post("/v2/models/cnn_tutorial/infer", request.dump(), "application/json"));
  ASSERT_EQ(out["outputs"].size(), 3u) << out;
  EXPECT_EQ(out["outputs"][0]["name"], "number");
  EXPECT_EQ(out["outputs"][0]["data"], Json({"7210"}));
  EXPECT_EQ(out["outputs"][1]["shape"], Json({4, 4}));
  const Json& boxes = out["outputs"][1]["data"];
  for (size_t k = 0; k < 4; ++k) EXPECT_GE(boxes[4 * k].get<int>(), 8 + 28 * int(k)) << boxes;
  EXPECT_EQ(out["outputs"][2]["shape"], Json({4, 10}));
  EXPECT_GT(out["parameters"]["confidence"].get<double>(), 0.5);

  Json two = request;
  two["inputs"][0]["shape"] = {2, 1, line.height, line.width / 2};
  expect_v2_error(c.Post("/v2/models/cnn_tutorial/infer", two.dump(), "application/json"), 400, "[1, 1, H, W]");
  Json blank = request;
  blank["inputs"][0]["data"] = std::vector<float>(values.size(), 0.0f);
  expect_v2_error(c.Post("/v2/models/cnn_tutorial/infer", blank.dump(), "application/json"), 400, "no ink");
}

TEST(ServeV2, InferRequestErrorsAre400WithTheProtocolsForm) {
  auto c = client();
  const std::string path = "/v2/models/cnn_tutorial/infer";
  Json r = infer_request(0, 1);
  r["inputs"][0]["datatype"] = "INT8";
  expect_v2_error(c.Post(path, r.dump(), "application/json"), 400, "datatype must be FP32, not 'INT8'");
  r = infer_request(0, 1);
  r["inputs"][0]["shape"] = {1, 784};
  expect_v2_error(c.Post(path, r.dump(), "application/json"), 400, "shape must be [N, 1, 28, 28], not [1,784]");
  r = infer_request(0, 2);
  r["inputs"][0]["shape"] = {3, 1, 28, 28};
  expect_v2_error(c.Post(path, r.dump(), "application/json"), 400, "needs 2352 values, data holds 1568");
  r = infer_request(0, 1);
  r["inputs"][0]["name"] = "pixels";
  expect_v2_error(c.Post(path, r.dump(), "application/json"), 400, "unknown input 'pixels'");
  r = infer_request(0, 1);
  r["inputs"][0]["name"] = {1, 2};  // found by fuzz_serve_body: was a 500
  expect_v2_error(c.Post(path, r.dump(), "application/json"), 400, "unknown input '[1,2]'");
  r = infer_request(0, 1);
  r["inputs"][0]["datatype"] = 32;
  expect_v2_error(c.Post(path, r.dump(), "application/json"), 400, "datatype must be FP32, not '32'");
  r = infer_request(0, 1);
  r["outputs"] = {{{"name", "logits"}}};
  expect_v2_error(c.Post(path, r.dump(), "application/json"), 400, "unknown output");
  r = infer_request(0, 1);
  r["inputs"][0]["data"][5] = "x";
  expect_v2_error(c.Post(path, r.dump(), "application/json"), 400, "data must hold numbers");
  r = infer_request(0, 1);
  r["inputs"][0]["shape"] = {int64_t(1) << 50, 1, 28, 28};  // would be petabytes: refused unread
  expect_v2_error(c.Post(path, r.dump(), "application/json"), 400, "holds more values than a");
  expect_v2_error(c.Post(path, "{\"inputs\": 3}", "application/json"), 400, "\"inputs\"");
  expect_v2_error(c.Post(path, "[1, 2", "application/json"), 400, "not valid JSON");
  expect_v2_error(c.Post("/v2/models/other/infer", infer_request(0, 1).dump(), "application/json"), 404,
                  "no model 'other'");
}

// JSON nested a million levels deep (4 MB, under the body limit) is refused at parsing; nothing
// that walks the document can overflow the stack, and the server goes on.
TEST(ServeV2, DeeplyNestedJsonIs400AndTheServerLives) {
  auto c = client();
  const std::string deep = std::string(1'000'000, '[') + "0" + std::string(1'000'000, ']');
  const std::string body = R"({"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": )" +
                           deep + "}]}";
  expect_v2_error(c.Post("/v2/models/cnn_tutorial/infer", body, "application/json"), 400, "nested deeper than");
  expect_seed_error(c.Post("/predict", "{\"image\": " + deep + "}", "application/json"), 400, "nested deeper than");
  EXPECT_EQ(status_of(c.Get("/health")), 200);
}

// --- Load and misbehaving clients ---

TEST(Serve, ManyParallelClientsGetTheAnswersOneClientGets) {
  auto c = client();
  std::vector<std::string> expected(kDigits);
  for (int i = 0; i < kDigits; ++i) expected[size_t(i)] = body_of(c.Post("/predict", png_of_digit(i), "image/png"));
  // Half the clients keep their connection, half open one per request (a burst of connects:
  // cpp-httplib's own backlog of 5 made some of them fail until serve raised it).
  constexpr int kClients = 32, kRequests = 20;
  std::vector<int> wrong(kClients, 0), failed(kClients, 0);
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t)
    clients.emplace_back([&, t] {
      auto mine = client();
      mine.set_keep_alive(t % 2 == 0);
      for (int k = 0; k < kRequests; ++k) {
        const int i = (t + k) % kDigits;
        const auto r = mine.Post("/predict", png_of_digit(i), "image/png");
        if (!r || r->status != 200)
          ++failed[size_t(t)];
        else if (r->body != expected[size_t(i)])
          ++wrong[size_t(t)];
      }
    });
  for (auto& t : clients) t.join();
  for (int t = 0; t < kClients; ++t) {
    EXPECT_EQ(failed[size_t(t)], 0) << "client " << t;
    EXPECT_EQ(wrong[size_t(t)], 0) << "client " << t;
  }
}

// A client that sends half a request and stalls is disconnected after --timeout (1 s), with at
// most an error status, and the server answers others meanwhile.
TEST(Serve, StalledClientIsDisconnectedAndOthersAreServed) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(server().port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string partial = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n";
  ASSERT_EQ(send(fd, partial.data(), partial.size(), 0), ssize_t(partial.size()));
  EXPECT_EQ(status_of(client().Get("/health")), 200);
  timeval wait{10, 0};  // far longer than the server's timeout
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  const auto start = std::chrono::steady_clock::now();
  std::string answer;
  char buf[256];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, size_t(n));
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close(fd);
  EXPECT_EQ(n, 0) << "the connection was not closed by the server";
  // cpp-httplib answers the half-read request with a 400 before closing; never with a result.
  EXPECT_TRUE(answer.empty() || answer.starts_with("HTTP/1.1 4")) << answer;
  EXPECT_LT(waited, 5.0) << "the stalled connection was not closed";
}

TEST(Serve, OneAccessLogLinePerRequestAndACleanStopOnSigterm) {
  test::ServerProcess own(test::tutorial_model().string(), {"--device", "cpu", "--workers", "1"});
  httplib::Client c("127.0.0.1", own.port());
  ASSERT_EQ(status_of(c.Get("/health")), 200);
  ASSERT_EQ(status_of(c.Post("/predict", png_of_digit(0), "image/png")), 200);
  ASSERT_EQ(status_of(c.Get("/nope")), 404);
  EXPECT_EQ(own.stop(SIGTERM), 0);
  const std::string log = own.output();
  EXPECT_NE(log.find("\"GET /health\" 200"), std::string::npos) << log;
  EXPECT_NE(log.find("\"POST /predict\" 200"), std::string::npos) << log;
  EXPECT_NE(log.find("\"GET /nope\" 404"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped by SIGTERM after 3 requests"), std::string::npos) << log;
}

TEST(Serve, SigintStopsCleanlyToo) {
  test::ServerProcess own(test::tutorial_model().string(), {"--device", "cpu", "--quiet"});
  EXPECT_EQ(own.stop(SIGINT), 0);
  EXPECT_NE(own.output().find("stopped by SIGINT"), std::string::npos) << own.output();
}

TEST(Serve, BadArgumentsExit2AndABusyPortExits1) {
  const std::string model = test::tutorial_model().string();
  auto r = test::run_command(std::string(HDR_EXE) + " serve " + model + " --device cpu --port 70000");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = test::run_command(std::string(HDR_EXE) + " serve /nonexistent/model.hdr");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = test::run_command(std::string(HDR_EXE) + " serve " + model + " --device cpu --port " +
                        std::to_string(server().port()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot listen on 127.0.0.1:" + std::to_string(server().port())), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace hdr

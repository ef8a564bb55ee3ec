// `hdr serve`'s GET /metrics after known traffic: it parses as Prometheus text (a strict reader
// of the format, tests/prometheus_text.h) and its counts match what the test sent.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <string>

#include "engine/io/image_io.h"
#include "tests/mnist_test_set.h"
#include "tests/prometheus_text.h"
#include "tests/server_process.h"
#include "tests/trained_model.h"

namespace hdr {
namespace {

std::string png_of_digit(int i) {
  const std::vector<uint8_t> png = encode_png(test::mnist_digit(i), 28, 28);
  return {png.begin(), png.end()};
}

// An infer body of `n` MNIST test digits scaled to [0, 1].
std::string infer_body(int n) {
  std::string data;
  for (int i = 0; i < n; ++i)
    for (const uint8_t v : test::mnist_digit(i)) data += fmt::format("{},", v / 255.0);
  data.pop_back();
  return fmt::format(
      R"({{"inputs": [{{"name": "input", "shape": [{}, 1, 28, 28], "datatype": "FP32", "data": [{}]}}]}})", n, data);
}

TEST(ServeMetrics, CountsMatchTheTrafficSent) {
  test::ServerProcess own(test::tutorial_model().string(), {"--device", "cpu", "--workers", "1", "--quiet"});
  httplib::Client c("127.0.0.1", own.port());
  c.set_read_timeout(30, 0);
  c.set_keep_alive(true);  // as Prometheus scrapes: requests answered on a kept connection leave the gauge
  size_t body_bytes = 0;
  for (int i = 0; i < 3; ++i) {
    const std::string png = png_of_digit(i);
    body_bytes += png.size();
    ASSERT_EQ(c.Post("/predict", png, "image/png")->status, 200);
  }
  body_bytes += 1;
  ASSERT_EQ(c.Post("/predict", "7", "text/plain")->status, 415);
  ASSERT_EQ(c.Get("/health")->status, 200);
  ASSERT_EQ(c.Get("/health")->status, 200);
  ASSERT_EQ(c.Get("/no/such/path")->status, 404);
  const std::string infer = infer_body(2);
  body_bytes += infer.size();
  ASSERT_EQ(c.Post("/v2/models/cnn_tutorial/infer", infer, "application/json")->status, 200);
  ASSERT_EQ(c.Get("/v2/models/cnn_tutorial/versions/1/ready")->status, 200);

  ASSERT_EQ(c.Get("/metrics")->status, 200);  // the second scrape sees the first
  const auto scrape = c.Get("/metrics");
  ASSERT_TRUE(scrape);
  EXPECT_EQ(scrape->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const test::PrometheusText m = test::parse_prometheus_text(scrape->body);

  auto requests = [&](const std::string& endpoint, int code) {
    return m.at(fmt::format("hdr_http_requests_total{{endpoint=\"{}\",code=\"{}\"}}", endpoint, code));
  };
  EXPECT_EQ(requests("/predict", 200), 3);
  EXPECT_EQ(requests("/predict", 415), 1);
  EXPECT_EQ(requests("/health", 200), 2);
  EXPECT_EQ(requests("other", 404), 1);
  EXPECT_EQ(requests("/v2/models/{name}/infer", 200), 1);
  EXPECT_EQ(requests("/v2/models/{name}/ready", 200), 1);
  EXPECT_EQ(requests("/metrics", 200), 1);
  EXPECT_EQ(m.types.at("hdr_http_requests_total"), "counter");
  EXPECT_EQ(m.types.at("hdr_http_request_duration_seconds"), "histogram");
  EXPECT_EQ(m.at("hdr_http_request_duration_seconds_count{endpoint=\"/predict\"}"), 4);
  EXPECT_GT(m.at("hdr_http_request_duration_seconds_sum{endpoint=\"/predict\"}"), 0);
  EXPECT_EQ(m.at("hdr_inference_duration_seconds_count"), 4);  // 3 images and 1 batch of 2
  EXPECT_EQ(m.at("hdr_images_classified_total"), 5);
  EXPECT_EQ(m.at("hdr_http_received_body_bytes_total"), double(body_bytes));
  EXPECT_EQ(m.at("hdr_http_requests_in_flight"), 1);  // the scrape itself
  EXPECT_EQ(m.at("hdr_workers"), 1);
  bool model_info = false;
  for (const auto& [key, value] : m.samples)
    if (key.starts_with("hdr_model_info{name=\"cnn_tutorial\",parameters=\"93322\",device=\"cpu"))
      model_info = value == 1;
  EXPECT_TRUE(model_info) << scrape->body;
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(m.at("process_start_time_seconds"), now - 120);
  EXPECT_LE(m.at("process_start_time_seconds"), now);
}

// The reader must be able to fail: each of these breaks one rule of the format.
TEST(ServeMetrics, TheFormatReaderRefusesWhatTheFormatForbids) {
  const std::string ok = "# TYPE a counter\na{x=\"1\"} 2\n";
  EXPECT_EQ(test::parse_prometheus_text(ok).at("a{x=\"1\"}"), 2);
  for (const std::string bad : {
           "a 1\n",                                                                           // no TYPE
           "# TYPE a counter\na 1",                                                           // no final newline
           "# TYPE a counter\na{x=1} 1\n",                                                    // unquoted value
           "# TYPE a counter\na{x=\"\\t\"} 1\n",                                              // bad escape
           "# TYPE a counter\na one\n",                                                       // bad value
           "# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n",                               // family split
           "# TYPE 1a counter\n",                                                             // bad name
           "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",  // not cumulative
           "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",               // count differs
       })
    EXPECT_THROW(test::parse_prometheus_text(bad), std::runtime_error) << bad;
}

}  // namespace
}  // namespace hdr

// Corrections through `hdr serve --corrections DIR` (tools/cli/serve_corrections.h), as the page
// and an API client send them: the id of an answer and the right digit in, the image the model
// saw and that digit into the set in DIR; refusals; a restart that goes on with the set; a
// kill -9 in the middle of writes and a full disk that leave the set readable with every
// correction the server acknowledged.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "engine/io/corrections.h"
#include "engine/io/image_io.h"
#include "tests/file_size_limit.h"
#include "tests/mnist_test_set.h"
#include "tests/server_process.h"
#include "tests/temp_dir.h"
#include "tests/trained_model.h"

namespace hdr {
namespace {

using Json = nlohmann::json;

std::string png_of_digit(int i) {
  const std::vector<uint8_t> png = encode_png(test::mnist_digit(i), 28, 28);
  return {png.begin(), png.end()};
}

struct CorrectingServer {
  test::ServerProcess process;
  httplib::Client client;
  CorrectingServer(const test::TempDir& dir, std::vector<std::string> extra = {})
      : process(test::tutorial_model().string(), with_folder(dir, std::move(extra))),
        client("127.0.0.1", process.port()) {
    client.set_read_timeout(30, 0);
  }
  static std::vector<std::string> with_folder(const test::TempDir& dir, std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--device", "cpu", "--workers", "2", "--quiet", "--corrections", dir.path().string()});
    return extra;
  }
  // /predict?preprocessed=1 on MNIST test digit i: the answer's JSON.
  Json predict(int i) {
    const auto r = client.Post("/predict?preprocessed=1", png_of_digit(i), "image/png");
    return r && r->status == 200 ? Json::parse(r->body) : Json();
  }
  httplib::Result correct(const std::string& id, int label) {
    return client.Post("/corrections", Json{{"id", id}, {"label", label}}.dump(), "application/json");
  }
};

TEST(ServeCorrections, ACorrectionStoresTheImageTheModelSawWithTheRightLabel) {
  const test::TempDir dir;
  CorrectingServer s(dir);
  const Json answer = s.predict(0);
  ASSERT_TRUE(answer.contains("id")) << answer;
  const auto r = s.correct(answer["id"], 3);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body)["corrections"], 1);

  // Each digit of a number has an id of its own.
  const DecodedImage line = test::mnist_line({0, 1});
  const std::vector<uint8_t> png = encode_png(line.pixels, line.width, line.height);
  const auto number = s.client.Post("/predict?number=1", std::string(png.begin(), png.end()), "image/png");
  ASSERT_TRUE(number && number->status == 200);
  const Json digits = Json::parse(number->body)["digits"];
  ASSERT_EQ(digits.size(), 2u);
  EXPECT_NE(digits[0]["id"], digits[1]["id"]);
  ASSERT_EQ(s.correct(digits[1]["id"], 5)->status, 200);

  const auto count = s.client.Get("/corrections");
  ASSERT_TRUE(count && count->status == 200);
  const Json counted = Json::parse(count->body);
  EXPECT_EQ(counted["corrections"], 2);
  EXPECT_EQ(counted["capacity"], 10000);
  EXPECT_EQ(counted["by_label"], Json({0, 0, 0, 1, 0, 1, 0, 0, 0, 0}));

  const LabelledImages set = read_corrections(dir.path(), 28, 10);
  ASSERT_EQ(set.count(), 2);
  EXPECT_EQ(set.labels, (std::vector<uint8_t>{3, 5}));
  for (size_t p = 0; p < 784; ++p) ASSERT_EQ(set.images.pixels[p], answer["preprocessed"][p].get<int>()) << p;
}

TEST(ServeCorrections, RefusalsAndARestartThatGoesOnWithTheSet) {
  const test::TempDir dir;
  {
    CorrectingServer s(dir, {"--corrections-max", "2"});
    const std::string id = s.predict(1)["id"];
    EXPECT_EQ(s.correct("0123456789abcdef", 1)->status, 404);
    EXPECT_EQ(s.correct(id, 10)->status, 400);
    EXPECT_EQ(s.client.Post("/corrections", "{\"label\": 2}", "application/json")->status, 400);
    EXPECT_EQ(s.correct(id, 2)->status, 200);
    const auto again = s.correct(id, 2);  // a double click: an answer is corrected once
    EXPECT_EQ(again->status, 404);
    EXPECT_NE(again->body.find("each is corrected once"), std::string::npos) << again->body;
    EXPECT_EQ(s.correct(s.predict(2)["id"], 2)->status, 200);
    const std::string third = s.predict(3)["id"];
    const auto full = s.correct(third, 2);
    EXPECT_EQ(full->status, 507);
    EXPECT_NE(full->body.find("full (2 corrections)"), std::string::npos) << full->body;
    EXPECT_EQ(s.correct(third, 2)->status, 507);  // nothing stored: the id is still there to send again
    // The folder is this server's while it runs.
    EXPECT_THROW(
        test::ServerProcess(test::tutorial_model().string(), {"--device", "cpu", "--corrections", dir.path().string()}),
        std::runtime_error);
  }
  CorrectingServer again(dir, {"--corrections-max", "3"});
  EXPECT_NE(again.process.output().find("(2 there, room for 3)"), std::string::npos) << again.process.output();
  EXPECT_EQ(again.correct(again.predict(2)["id"], 7)->status, 200);
  EXPECT_EQ(read_corrections(dir.path(), 28, 10).labels, (std::vector<uint8_t>{2, 2, 7}));
}

TEST(ServeCorrections, AbsentWithoutTheFlag) {
  test::ServerProcess server(test::tutorial_model().string(), {"--device", "cpu", "--quiet"});
  httplib::Client c("127.0.0.1", server.port());
  const auto answer = c.Post("/predict", png_of_digit(0), "image/png");
  ASSERT_TRUE(answer && answer->status == 200);
  EXPECT_FALSE(Json::parse(answer->body).contains("id"));
  const auto r = c.Get("/corrections");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("--corrections DIR"), std::string::npos) << r->body;
}

// Two clients correcting as fast as they can while the server is killed (-9) at a different
// moment each round: every acknowledged correction is in the set, and at most the one in flight
// is there unacknowledged.
TEST(ServeCorrections, AKillDuringWritesLeavesEveryAcknowledgedCorrection) {
  const test::TempDir dir;
  int acknowledged = 0;
  for (int round = 0; round < 3; ++round) {
    CorrectingServer s(dir);
    std::atomic<int> acks{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 2; ++t)
      clients.emplace_back([&, t] {
        httplib::Client c("127.0.0.1", s.process.port());
        for (int i = t; !stop; i += 2) {
          const auto answer = c.Post("/predict", png_of_digit(i % 100), "image/png");
          if (!answer || answer->status != 200) return;
          const auto r = c.Post("/corrections", Json{{"id", Json::parse(answer->body)["id"]}, {"label", i % 10}}.dump(),
                                "application/json");
          if (!r || r->status != 200) return;
          ++acks;
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + 250 * round));
    s.process.stop(SIGKILL);
    stop = true;
    for (std::thread& c : clients) c.join();
    acknowledged += acks;
    const LabelledImages set = read_corrections(dir.path(), 28, 10);
    EXPECT_GE(set.count(), acknowledged) << "round " << round;
    EXPECT_LE(set.count(), acknowledged + 2) << "round " << round;  // one in flight per client
    acknowledged = set.count();
  }
  EXPECT_GT(acknowledged, 10);
}

TEST(ServeCorrections, AFullDiskIs507AndKeepsTheSet) {
  const test::TempDir dir;
  std::optional<CorrectingServer> s;
  {
    // The server inherits the limit (and SIGXFSZ ignored): its files may not pass 4,000 bytes, so
    // the images of a sixth correction (16 + 6 x 784 = 4,720 bytes) do not fit.
    const test::FileSizeLimit limit(4000);
    s.emplace(dir);
  }
  int stored = 0;
  for (int i = 0; i < 7; ++i) {
    const auto r = s->correct(s->predict(i)["id"], i);
    ASSERT_TRUE(r);
    if (r->status == 200) {
      ++stored;
      continue;
    }
    EXPECT_EQ(r->status, 507) << r->body;
    EXPECT_NE(r->body.find("the correction was not stored"), std::string::npos) << r->body;
    break;
  }
  EXPECT_EQ(stored, 5);
  const LabelledImages set = read_corrections(dir.path(), 28, 10);
  EXPECT_EQ(set.labels, (std::vector<uint8_t>{0, 1, 2, 3, 4}));
  const auto count = s->client.Get("/corrections");
  EXPECT_EQ(Json::parse(count->body)["corrections"], 5);
}

}  // namespace
}  // namespace hdr

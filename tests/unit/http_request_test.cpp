// serve's request parsing without a server: multipart bodies (tools/cli/multipart.h), request
// targets (tools/cli/http_message.h) and the /predict body forms (tools/cli/http_request.h).
#include <gtest/gtest.h>

#include <string>

#include "tools/cli/http_request.h"
#include "tools/cli/multipart.h"

namespace hdr::cli {
namespace {

// What curl -F image=@a.png -F note=hi sends, with a preamble and an epilogue, and an image
// holding CRLF and a boundary-like line that is not a delimiter.
const std::string kBoundary = "------------------------d74496d66958873e";
const std::string kImage = "\x89PNG\r\n--" + kBoundary.substr(0, 10) + "\r\nxx\r\n";

std::string form_body() {
  return "preamble\r\n--" + kBoundary +
         "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a;b.png\"\r\n"
         "Content-Type: image/png\r\n\r\n" +
         kImage + "\r\n--" + kBoundary + "\r\ncontent-disposition: form-data; name=note\r\n\r\nhi\r\n--" + kBoundary +
         "--\r\nepilogue";
}

int status_of(auto&& call) {
  try {
    call();
  } catch (const HttpError& e) {
    return e.status;
  }
  return 0;
}

TEST(Multipart, PartsAreFoundWithTheirNamesFilenamesAndExactContent) {
  const std::string body = form_body();
  const auto parts = multipart_parts(body, kBoundary);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "image");
  EXPECT_EQ(parts[0].filename, "a;b.png");
  EXPECT_EQ(parts[0].content_type, "image/png");
  EXPECT_EQ(parts[0].content, kImage);
  EXPECT_EQ(parts[1].name, "note");
  EXPECT_EQ(parts[1].filename, "");
  EXPECT_EQ(parts[1].content, "hi");
  // Without a preamble the body opens with the delimiter.
  const std::string bare = body.substr(body.find("--"));
  EXPECT_EQ(multipart_parts(bare, kBoundary).size(), 2u);
}

TEST(Multipart, TheBoundaryComesFromTheContentTypeQuotedOrNot) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=x; BOUNDARY=\"a;b c\""), "a;b c");
  EXPECT_EQ(status_of([] { multipart_boundary("multipart/form-data"); }), 400);
  EXPECT_EQ(status_of([] { multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')); }), 400);
}

TEST(Multipart, MalformedBodiesAre400NamingWhatIsWrong) {
  const std::string open = "--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nx";
  for (const auto& [body, reason] : std::vector<std::pair<std::string, std::string>>{
           {"no delimiter at all", "no boundary line"},
           {open, "not closed by a boundary line"},
           {"--b\r\nContent-Disposition: form-data; name=\"image\"", "headers do not end"},
           {"--b\r\nContent-Disposition: garbage\r\n\r\nx\r\n--b--", "not form-data"},
           {"--b\r\nno colon here\r\n\r\nx\r\n--b--", "has no ':'"},
           {"--b\r\nContent-Type: image/png\r\n\r\nx\r\n--b--", "no Content-Disposition"},
           {"--bX\r\n", "does not end with CRLF"}}) {
    try {
      multipart_parts(body, "b");
      ADD_FAILURE() << "accepted: " << body;
    } catch (const HttpError& e) {
      EXPECT_EQ(e.status, 400);
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    }
  }
  std::string many;
  for (int i = 0; i < 65; ++i) many += "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n";
  EXPECT_EQ(status_of([&] { multipart_parts(many + "--b--", "b"); }), 400);
}

TEST(Multipart, PredictTakesTheOneImagePartAndRefusesTwo) {
  HttpRequest req;
  req.headers = {{"Content-Type", "multipart/form-data; boundary=" + kBoundary}};
  req.body = form_body();
  EXPECT_EQ(image_bytes(req), kImage);
  const std::string part = "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nx\r\n";
  req.body = part + part + "--" + kBoundary + "--";
  EXPECT_EQ(status_of([&] { image_bytes(req); }), 400);
  req.body = "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--" + kBoundary + "--";
  EXPECT_EQ(status_of([&] { image_bytes(req); }), 400);
}

TEST(HttpMessage, TheTargetSplitsIntoADecodedPathAndQuery) {
  HttpRequest req;
  req.set_target("/x%0ay%2F%zz%4?preprocessed=1&a+b=c%20d&&flag");
  EXPECT_EQ(req.path, "/x\ny/%zz%4");
  EXPECT_EQ(req.query_value("preprocessed"), "1");
  EXPECT_EQ(req.query_value("a b"), "c d");
  ASSERT_EQ(req.query.size(), 3u);
  EXPECT_EQ(req.query[2].first, "flag");
  req.headers = {{"content-LENGTH", "5"}, {"Content-Length", "6"}};
  EXPECT_EQ(req.header("Content-Length"), "5");
  EXPECT_EQ(req.header_count("content-length"), 2u);
  EXPECT_FALSE(req.has_header("Host"));
}

}  // namespace
}  // namespace hdr::cli

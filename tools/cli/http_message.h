// One HTTP request and its answer as serve's routes see them: the head already checked by the
// server (tools/cli/http_server.h), the path percent-decoded, the body whole. Plain types, apart
// from the HTTP library, so that the routes and tests/fuzz/fuzz_serve_body.cpp need none.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hdr::cli {

using HttpFields = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // as sent: "/predict?preprocessed=1"
  std::string path;    // the target's path, percent-decoded: "/predict"
  HttpFields query;    // the target's query, decoded
  HttpFields headers;  // as sent, in order
  std::string body;
  std::string remote_addr;
  int version = 11;                  // 10: HTTP/1.0, 11: HTTP/1.1
  std::vector<std::string> matches;  // the route pattern's groups ([0]: the whole path)

  // The first header of that name (case-insensitive), "" when there is none.
  std::string header(std::string_view name) const;
  size_t header_count(std::string_view name) const;
  bool has_header(std::string_view name) const { return header_count(name) > 0; }
  std::string query_value(std::string_view key) const;

  // Splits `target` into path and query.
  void set_target(std::string text);
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  HttpFields headers;  // beyond Content-Type, Content-Length and Connection
  bool close = false;  // end the connection after this answer

  void set_header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
  void set_content(std::string text, std::string type) {
    body = std::move(text);
    content_type = std::move(type);
  }
};

// %XX sequences decoded (and '+' as a space where `plus_is_space`, as in a query); a malformed
// sequence is kept as it is.
std::string percent_decoded(std::string_view text, bool plus_is_space);

}  // namespace hdr::cli

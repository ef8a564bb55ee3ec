#include "tools/cli/http_message.h"

#include <strings.h>

#include <algorithm>

namespace hdr::cli {
namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (same_name(key, name)) return value;
  return "";
}

size_t HttpRequest::header_count(std::string_view name) const {
  size_t n = 0;
  for (const auto& field : headers) n += same_name(field.first, name);
  return n;
}

std::string HttpRequest::query_value(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return v;
  return "";
}

void HttpRequest::set_target(std::string text) {
  target = std::move(text);
  const size_t mark = target.find('?');
  path = percent_decoded(std::string_view(target).substr(0, mark), false);
  query.clear();
  if (mark == std::string::npos) return;
  std::string_view rest = std::string_view(target).substr(mark + 1);
  while (!rest.empty()) {
    const std::string_view item = rest.substr(0, rest.find('&'));
    rest.remove_prefix(std::min(item.size() + 1, rest.size()));
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    query.emplace_back(percent_decoded(item.substr(0, eq), true),
                       eq == std::string_view::npos ? "" : percent_decoded(item.substr(eq + 1), true));
  }
}

std::string percent_decoded(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out += char(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += plus_is_space && c == '+' ? ' ' : c;
    }
  }
  return out;
}

}  // namespace hdr::cli

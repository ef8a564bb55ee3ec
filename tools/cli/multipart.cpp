#include "tools/cli/multipart.h"

#include <fmt/format.h>
#include <strings.h>

#include "tools/cli/http_request.h"

namespace hdr::cli {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr size_t kMaxParts = 64;  // a form of one image needs one; the cap bounds the list

[[noreturn]] void malformed(std::string_view what) {
  throw HttpError(400, fmt::format("the multipart body is malformed: {}", what));
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && strncasecmp(text.data(), prefix.data(), prefix.size()) == 0;
}

// The value of parameter `key` in a header value's ";"-separated parameters, unquoted (quoted
// strings may hold ';'; a backslash escape is kept as sent).
std::string_view parameter(std::string_view value, std::string_view key) {
  size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    std::string_view rest = trimmed(value.substr(i + 1));
    const size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return {};
    const bool match = trimmed(rest.substr(0, eq)).size() == key.size() &&
                       starts_with_nocase(trimmed(rest.substr(0, eq)), key);
    rest = trimmed(rest.substr(eq + 1));
    std::string_view found;
    size_t consumed = 0;
    if (!rest.empty() && rest.front() == '"') {
      size_t end = 1;
      while (end < rest.size() && rest[end] != '"') end += rest[end] == '\\' ? 2 : 1;
      if (end >= rest.size()) return {};
      found = rest.substr(1, end - 1);
      consumed = end + 1;
    } else {
      consumed = std::min(rest.find(';'), rest.size());
      found = trimmed(rest.substr(0, consumed));
    }
    if (match) return found;
    const size_t next = rest.find(';', consumed);
    if (next == std::string_view::npos) return {};
    i = size_t(rest.data() + next - value.data());
  }
  return {};
}

// A part's headers (the lines before its blank line) into `part`.
void read_part_headers(std::string_view headers, FormPart& part) {
  bool disposition = false;
  while (!headers.empty()) {
    const size_t eol = headers.find(kCrlf);
    const std::string_view line = headers.substr(0, eol);
    headers.remove_prefix(eol == std::string_view::npos ? headers.size() : eol + kCrlf.size());
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) malformed("a part's header line has no ':'");
    const std::string_view name = trimmed(line.substr(0, colon));
    const std::string_view value = trimmed(line.substr(colon + 1));
    if (name.size() == 19 && starts_with_nocase(name, "Content-Disposition")) {
      if (!starts_with_nocase(value, "form-data")) malformed("a part's Content-Disposition is not form-data");
      part.name = parameter(value, "name");
      part.filename = parameter(value, "filename");
      disposition = true;
    } else if (name.size() == 12 && starts_with_nocase(name, "Content-Type")) {
      part.content_type = value;
    }
  }
  if (!disposition) malformed("a part has no Content-Disposition");
}

}  // namespace

std::string_view multipart_boundary(std::string_view content_type) {
  const std::string_view boundary = parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 70)
    throw HttpError(400, "the multipart Content-Type needs a boundary of 1 to 70 characters");
  return boundary;
}

std::vector<FormPart> multipart_parts(std::string_view body, std::string_view boundary) {
  const std::string delimiter = fmt::format("\r\n--{}", boundary);
  // The first delimiter may open the body (no preamble) or follow a preamble's line break.
  size_t at = body.starts_with(std::string_view(delimiter).substr(2)) ? 0 : body.find(delimiter);
  if (at == std::string_view::npos) malformed("no boundary line");
  at += at == 0 ? delimiter.size() - 2 : delimiter.size();
  std::vector<FormPart> parts;
  for (;;) {
    std::string_view rest = body.substr(at);
    if (rest.starts_with("--")) return parts;  // the closing delimiter; an epilogue is ignored
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (!rest.starts_with(kCrlf)) malformed("a boundary line does not end with CRLF");
    rest.remove_prefix(kCrlf.size());
    if (parts.size() == kMaxParts) malformed(fmt::format("more than {} parts", kMaxParts));
    FormPart part;
    // A part with no headers starts with its blank line.
    const size_t blank = rest.starts_with(kCrlf) ? 0 : rest.find("\r\n\r\n");
    if (blank == std::string_view::npos) malformed("a part's headers do not end");
    read_part_headers(rest.substr(0, blank), part);
    rest.remove_prefix(blank == 0 ? kCrlf.size() : blank + 2 * kCrlf.size());
    const size_t end = rest.find(delimiter);
    if (end == std::string_view::npos) malformed("a part is not closed by a boundary line");
    part.content = rest.substr(0, end);
    parts.push_back(part);
    at = size_t(rest.data() + end - body.data()) + delimiter.size();
  }
}

}  // namespace hdr::cli

// multipart/form-data (RFC 7578) bodies, as browsers, curl -F and Python's requests send a file:
// the parts of a body held in memory, as views into it. A malformed body is an HttpError 400
// naming what is wrong. Hand-written: neither Boost (Beast has no multipart parser) nor the
// other libraries serve builds on offer one that works on a body already read; fuzzed by
// tests/fuzz/fuzz_serve_body.cpp.
#pragma once

#include <string_view>
#include <vector>

namespace hdr::cli {

struct FormPart {
  std::string_view name;          // Content-Disposition's name ("image")
  std::string_view filename;      // "" when the part is not a file
  std::string_view content_type;  // "" when the part has none
  std::string_view content;
};

// The boundary of a multipart Content-Type header ("multipart/form-data; boundary=...").
std::string_view multipart_boundary(std::string_view content_type);

// Every part of `body`, in order; `body` must outlive them.
std::vector<FormPart> multipart_parts(std::string_view body, std::string_view boundary);

}  // namespace hdr::cli

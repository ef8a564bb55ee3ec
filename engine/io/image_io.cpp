// Image decoding and PNG writing with Debian's libstb-dev: stb_image_write from libstb.so, and
// stb_image compiled here from the same header (static to this file), because libstb.so is
// built with assertions on: a JPEG whose Huffman table is not a prefix code breaks one, and
// abort() would take `hdr serve` down with it (found by tests/fuzz/fuzz_serve_body). Here a
// broken assertion marks the decode as failed (StbAssertions), the file is undecodable, and
// the fuzz builds compile stb's decoders with ASan and UBSan too. Only the four formats we
// promise are compiled in. JPEG Huffman tables too large for stb's arrays are refused first
// (engine/io/jpeg_huffman.h).
//
// Order of checks, cheapest and safest first: the byte count; the signature (so that a message
// names the format that failed); the header's width and height via
// stbi_info_from_memory, checked against the limits before any pixel memory is allocated; then the
// decode itself, at the file's native channel count. stb's own failure strings are terse
// ("bad huffman code") and never shown: a message names the source and what is wrong with it.
#include "engine/io/image_io.h"

#include <fmt/format.h>

// Set by a broken stb_image assertion during this thread's decode; see decode_image.
namespace hdr {
namespace {
thread_local bool stb_assertion_failed = false;
}  // namespace
}  // namespace hdr
#define STBI_ASSERT(x) ((x) ? (void)0 : (void)(::hdr::stb_assertion_failed = true))
// Zeroed: stb_image v2.27 decodes a scan with a Huffman table the file never defined from
// uninitialised memory, reading far out of its arrays (found by fuzz_serve_body); a zeroed
// table decodes garbage pixels instead, within bounds.
#define STBI_MALLOC(size) calloc(1, size)
#define STBI_REALLOC(p, size) realloc(p, size)
#define STBI_FREE(p) free(p)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#include <stb_image.h>
#include <stb_image_write.h>

#include <climits>
#include <cstring>
#include <fstream>
#include <memory>
#include <string_view>

#include "engine/core/atomic_file.h"
#include "engine/core/errors.h"
#include "engine/core/thousands.h"
#include "engine/io/jpeg_huffman.h"

namespace hdr {
namespace fs = std::filesystem;

namespace {

// The format a file's first bytes announce, or nullptr when it is none of the four we read.
const char* format_from_signature(std::span<const uint8_t> bytes) {
  auto starts_with = [&](std::string_view magic) {
    return bytes.size() >= magic.size() && std::memcmp(bytes.data(), magic.data(), magic.size()) == 0;
  };
  if (starts_with("\x89PNG\r\n\x1a\n")) return "PNG";
  if (starts_with("\xff\xd8\xff")) return "JPEG";
  if (starts_with("GIF87a") || starts_with("GIF89a")) return "GIF";
  if (starts_with("BM")) return "BMP";
  return nullptr;
}

// Clears the assertion flag for one decode and says afterwards whether stb broke one.
class StbAssertions {
 public:
  StbAssertions() { stb_assertion_failed = false; }
  bool failed() const { return stb_assertion_failed; }
};

InputError undecodable(const std::string& source, const char* format) {
  return InputError(fmt::format("{}: a {} image that cannot be decoded (truncated, corrupt or an unsupported variant)",
                                source, format));
}

}  // namespace

DecodedImage decode_image(std::span<const uint8_t> bytes, const std::string& source, const ImageLimits& limits) {
  if (bytes.empty()) throw InputError(fmt::format("{}: empty (0 bytes), not an image", source));
  if (bytes.size() > limits.max_bytes)
    throw InputError(fmt::format("{}: {} bytes is over the limit of {}", source, with_thousands(int64_t(bytes.size())),
                                 with_thousands(int64_t(limits.max_bytes))));
  const char* format = format_from_signature(bytes);
  if (!format) throw InputError(fmt::format("{}: not a PNG, JPEG, BMP or GIF image (or a corrupt one)", source));
  if (bytes.size() > size_t(INT_MAX)) throw InputError(fmt::format("{}: over 2 GiB, too large to decode", source));
  const int length = int(bytes.size());
  if (std::string_view(format) == "JPEG" && !jpeg_huffman_tables_fit(bytes)) throw undecodable(source, format);

  int width = 0, height = 0, channels = 0;
  const StbAssertions assertions;
  if (!stbi_info_from_memory(bytes.data(), length, &width, &height, &channels) || assertions.failed())
    throw undecodable(source, format);
  if (int64_t(width) * height > limits.max_pixels)
    throw InputError(fmt::format("{}: {} x {} pixels is over the limit of {}", source, width, height,
                                 with_thousands(limits.max_pixels)));
  if (width < limits.min_side || height < limits.min_side)
    throw InputError(fmt::format("{}: {} x {} pixels: an image must be at least {} x {}", source, width, height,
                                 limits.min_side, limits.min_side));

  int w = 0, h = 0, n = 0;
  const std::unique_ptr<stbi_uc, void (*)(void*)> decoded(stbi_load_from_memory(bytes.data(), length, &w, &h, &n, 0),
                                                          stbi_image_free);
  // The decode must agree with the header that passed the checks above.
  if (!decoded || assertions.failed() || w != width || h != height || n < 1 || n > 4) throw undecodable(source, format);
  DecodedImage image{.width = w, .height = h, .channels = n, .pixels = {}};
  image.pixels.assign(decoded.get(), decoded.get() + size_t(w) * size_t(h) * size_t(n));
  return image;
}

DecodedImage read_image_file(const fs::path& path, const ImageLimits& limits) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw InputError(fmt::format("{}: no such file", name));
  if (!fs::is_regular_file(status)) throw InputError(fmt::format("{}: not a regular file", name));
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot read its size: {}", name, ec.message()));
  if (size > limits.max_bytes)
    throw InputError(fmt::format("{}: {} bytes is over the limit of {}", name, with_thousands(int64_t(size)),
                                 with_thousands(int64_t(limits.max_bytes))));

  std::vector<uint8_t> bytes(size);
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size)))
    throw InputError(fmt::format("{}: cannot be read", name));
  return decode_image(bytes, name, limits);
}

std::vector<uint8_t> encode_png(std::span<const uint8_t> pixels, int width, int height, int channels) {
  if (width < 1 || height < 1 || channels < 1 || channels > 4 ||
      pixels.size() != size_t(width) * size_t(height) * size_t(channels))
    throw std::invalid_argument(fmt::format("encode_png: {} values for a {} x {} image with {} channels", pixels.size(),
                                            width, height, channels));
  std::vector<uint8_t> png;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    const auto* begin = static_cast<const uint8_t*>(data);
    out->insert(out->end(), begin, begin + size);
  };
  if (!stbi_write_png_to_func(append, &png, width, height, channels, pixels.data(), width * channels))
    throw std::runtime_error(fmt::format("encode_png: stb_image_write failed on a {} x {} image", width, height));
  return png;
}

void write_png(const fs::path& path, std::span<const uint8_t> pixels, int width, int height, int channels) {
  // Atomic, not fsynced: predict and data --export write thousands of these.
  write_file_atomically(path, encode_png(pixels, width, height, channels), Durability::kAtomicOnly);
}

}  // namespace hdr

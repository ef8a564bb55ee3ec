// User images in and out: decoding PNG, JPEG, BMP and GIF (first frame) with stb_image, and
// writing 8-bit PNG with stb_image_write. Nothing in a file is trusted: the size of
// the bytes and the pixel count the header declares are checked before anything is decoded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace hdr {

// What a user may hand over. The defaults suit photos and canvas exports; serve and predict
// use them unless told otherwise.
struct ImageLimits {
  size_t max_bytes = size_t(16) << 20;  // encoded size (16 MiB)
  int64_t max_pixels = 40'000'000;      // width * height from the header (40 megapixels)
  int min_side = 8;                     // both sides at least this many pixels
};

// 8-bit pixels, row-major, channels interleaved: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
struct DecodedImage {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // width * height * channels
};

// Decodes an encoded image held in memory. `source` names it in errors ("digit.png", "request
// field 'image'"). Throws InputError: empty, over max_bytes, not a PNG/JPEG/BMP/GIF (or corrupt),
// over max_pixels or under min_side (both from the header, before decoding).
DecodedImage decode_image(std::span<const uint8_t> bytes, const std::string& source, const ImageLimits& limits = {});

// Reads and decodes a file (InputError when it cannot be read, is not a regular file or is over
// max_bytes, checked from its size before reading).
DecodedImage read_image_file(const std::filesystem::path& path, const ImageLimits& limits = {});

// An 8-bit PNG of width x height pixels (row-major, channels interleaved as in DecodedImage:
// 1 gray, 3 RGB), in memory.
std::vector<uint8_t> encode_png(std::span<const uint8_t> pixels, int width, int height, int channels = 1);

// Writes encode_png's bytes to path; std::runtime_error naming the path when it cannot.
void write_png(const std::filesystem::path& path, std::span<const uint8_t> pixels, int width, int height,
               int channels = 1);

}  // namespace hdr

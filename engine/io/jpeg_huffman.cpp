#include "engine/io/jpeg_huffman.h"

#include <cstddef>

namespace hdr {
namespace {

constexpr uint8_t kDht = 0xC4, kSos = 0xDA;

// The tables of one DHT segment whose length field is at `at`, read as stb_image reads them:
// tables of 17 bytes (class and id, 16 code counts) plus their codes, while length remains,
// and zeros past the end of the file (a table cut short still counts).
bool dht_tables_fit(std::span<const uint8_t> b, size_t at) {
  auto byte = [&](size_t i) { return i < b.size() ? b[i] : uint8_t(0); };
  long remaining = long(byte(at) << 8 | byte(at + 1)) - 2;
  size_t p = at + 2;
  while (remaining > 0 && p < b.size()) {
    if (b[p] >> 4 > 1 || (b[p] & 15) > 3) return true;  // stb_image stops at a bad class or id
    size_t codes = 0;
    for (size_t i = 1; i <= 16; ++i) codes += byte(p + i);
    if (codes > 256) return false;
    p += 17 + codes;
    remaining -= long(17 + codes);
  }
  return true;
}

// From `from` on, every FF C4 marker.
bool every_dht_fits(std::span<const uint8_t> b, size_t from) {
  for (size_t i = from; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == kDht && !dht_tables_fit(b, i + 2)) return false;
  return true;
}

}  // namespace

bool jpeg_huffman_tables_fit(std::span<const uint8_t> b) {
  size_t p = 2;  // after SOI
  while (p < b.size()) {
    if (b[p] != 0xFF) {  // padding between segments: stb_image scans on byte by byte
      ++p;
      continue;
    }
    while (p < b.size() && b[p] == 0xFF) ++p;  // fill bytes
    if (p >= b.size()) return true;
    const uint8_t marker = b[p++];
    if (marker == kSos || p + 2 > b.size()) return every_dht_fits(b, p);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD9)) continue;  // no length field
    const size_t length = size_t(b[p] << 8 | b[p + 1]);
    if (marker == kDht && !dht_tables_fit(b, p)) return false;
    if (length < 2) return every_dht_fits(b, p);  // stb_image fails here; stay on the safe side
    p += length;
  }
  return true;
}

}  // namespace hdr

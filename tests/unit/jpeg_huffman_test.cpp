// The check that keeps JPEG Huffman tables of over 256 codes from stb_image
// (engine/io/jpeg_huffman.h): such a table is refused wherever stb_image would read it, a real
// JPEG passes, and bytes that only look like a table inside an APPn segment do not count.
#include <gtest/gtest.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <vector>

#include "engine/io/image_io.h"
#include "engine/io/jpeg_huffman.h"
#include "tests/expect_input_error.h"

namespace hdr {
namespace {

using Bytes = std::vector<uint8_t>;

// A DHT segment of one DC table whose 16 code counts are all `count` (codes: none given).
Bytes dht(uint8_t count) {
  Bytes s(5 + 16, count);  // (built this way: GCC 12 -O3 misreads an insert after an init list)
  const uint8_t header[] = {0xFF, 0xC4, 0x00, 0x13, 0x00};
  std::copy(std::begin(header), std::end(header), s.begin());
  return s;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Bytes kSoi = {0xFF, 0xD8};

Bytes real_jpeg() {
  Bytes pixels(16 * 16);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 7);
  Bytes file;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<Bytes*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  EXPECT_TRUE(stbi_write_jpg_to_func(append, &file, 16, 16, 1, pixels.data(), 90));
  return file;
}

TEST(JpegHuffman, TableOfOver256CodesIsRefused) {
  EXPECT_TRUE(jpeg_huffman_tables_fit(cat({kSoi, dht(16)})));   // 256 codes: stb's arrays hold them
  EXPECT_FALSE(jpeg_huffman_tables_fit(cat({kSoi, dht(17)})));  // 272
  EXPECT_FALSE(jpeg_huffman_tables_fit(cat({kSoi, dht(255)})));
}

// Found by fuzz_serve_body: stb_image reads zeros past the end, so a table whose counts are
// cut short by the end of the file counts too.
TEST(JpegHuffman, TableCutShortByTheEndIsChecked) {
  Bytes file = cat({kSoi, dht(255)});
  file.pop_back();
  EXPECT_FALSE(jpeg_huffman_tables_fit(file));
}

TEST(JpegHuffman, RealJpegPassesAndDecodes) {
  const Bytes file = real_jpeg();
  EXPECT_TRUE(jpeg_huffman_tables_fit(file));
  EXPECT_EQ(decode_image(file, "real.jpg").width, 16);
}

TEST(JpegHuffman, FoundAfterPaddingAndAfterTheFirstScan) {
  const Bytes padding = {0x00, 0x12, 0xFF, 0xFF};
  EXPECT_FALSE(jpeg_huffman_tables_fit(cat({kSoi, padding, dht(255)})));
  const Bytes scan = {0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0x00, 0x56};
  EXPECT_FALSE(jpeg_huffman_tables_fit(cat({kSoi, scan, dht(255)})));
}

TEST(JpegHuffman, LookalikeInsideAnAppSegmentIsSkipped) {
  const Bytes table = dht(255);
  Bytes app = {0xFF, 0xE1, 0x00, uint8_t(2 + table.size())};
  app.insert(app.end(), table.begin(), table.end());
  EXPECT_TRUE(jpeg_huffman_tables_fit(cat({kSoi, app})));
  EXPECT_FALSE(jpeg_huffman_tables_fit(cat({kSoi, app, table})));
}

TEST(JpegHuffman, DecodeRefusesTheFileWithoutOverflowing) {
  test::expect_input_error(
      [] {
        decode_image(cat({kSoi, dht(255)}), "big_table.jpg");
      },
      {"big_table.jpg: a JPEG image that cannot be decoded"});
}

}  // namespace
}  // namespace hdr

// Image decoding and MNIST-style preprocessing.
//
// Decoding: files built here (stb_image_write, or byte by byte where stb cannot write: GIF, a
// PNG header that lies) round-trip; empty, foreign, truncated, tiny, huge and oversized ones are
// clear InputErrors, the huge one rejected from its header alone.
//
// Preprocessing: real MNIST test digits turned into what users hand over
// (tests/user_style_digits.h) come back close to the original; and the maths of each step on its
// own: centre of mass, box size, aspect ratio, anti-aliasing, polarity, colour and alpha, specks,
// and images without ink.
#include <gtest/gtest.h>
#include <stb_image_write.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "engine/core/errors.h"
#include "engine/io/idx.h"
#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"
#include "tests/expect_input_error.h"
#include "tests/mnist_test_set.h"
#include "tests/temp_dir.h"
#include "tests/user_style_digits.h"

namespace hdr {
namespace {

using test::expect_input_error;
using test::UserStyle;
using test::user_style_detail::to_byte;
using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------------------------------------
// Helpers

// Collects what stb_image_write hands over into the Bytes at `context`.
void append_to(void* context, void* data, int size) {
  auto* out = static_cast<Bytes*>(context);
  out->insert(out->end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size);
}

Bytes png(int w, int h, int channels, const Bytes& pixels) {
  Bytes file;
  EXPECT_TRUE(stbi_write_png_to_func(append_to, &file, w, h, channels, pixels.data(), w * channels));
  return file;
}

Bytes jpeg(int w, int h, int channels, const Bytes& pixels, int quality) {
  Bytes file;
  EXPECT_TRUE(stbi_write_jpg_to_func(append_to, &file, w, h, channels, pixels.data(), quality));
  return file;
}

Bytes bmp(int w, int h, int channels, const Bytes& pixels) {
  Bytes file;
  EXPECT_TRUE(stbi_write_bmp_to_func(append_to, &file, w, h, channels, pixels.data()));
  return file;
}

Bytes tga(int w, int h, int channels, const Bytes& pixels) {
  Bytes file;
  EXPECT_TRUE(stbi_write_tga_to_func(append_to, &file, w, h, channels, pixels.data()));
  return file;
}

// w x h x channels bytes that differ from pixel to pixel and channel to channel.
Bytes pattern(int w, int h, int channels) {
  Bytes p(size_t(w) * size_t(h) * size_t(channels));
  for (size_t i = 0; i < p.size(); ++i) p[i] = uint8_t((i * 37 + i / 7) % 256);
  return p;
}

// A GIF89a of w x h pixels with a 4-colour global palette, written by hand (stb cannot write
// GIF). Its LZW stream sends a clear code before every two pixels, so every code stays 3 bits
// wide: valid, if not compressed.
Bytes gif(int w, int h, const std::array<std::array<uint8_t, 3>, 4>& palette, const Bytes& indices) {
  Bytes b{'G', 'I', 'F', '8', '9', 'a'};
  auto u16 = [&b](int v) {
    b.push_back(uint8_t(v & 0xff));
    b.push_back(uint8_t(v >> 8));
  };
  u16(w), u16(h);
  b.insert(b.end(), {0x81, 0, 0});  // global colour table of 2^(1+1) entries; background 0; aspect
  for (const auto& c : palette) b.insert(b.end(), c.begin(), c.end());
  b.push_back(0x2c);  // image descriptor
  u16(0), u16(0), u16(w), u16(h);
  b.push_back(0);  // no local table, not interlaced
  b.push_back(2);  // LZW minimum code size: clear = 4, end = 5
  Bytes lzw;
  uint32_t bits = 0;
  int nbits = 0;
  auto code = [&](uint32_t c) {
    bits |= c << nbits;
    nbits += 3;
    while (nbits >= 8) {
      lzw.push_back(uint8_t(bits & 0xff));
      bits >>= 8;
      nbits -= 8;
    }
  };
  for (size_t i = 0; i < indices.size(); ++i) {
    if (i % 2 == 0) code(4);
    code(indices[i]);
  }
  code(5);
  if (nbits) lzw.push_back(uint8_t(bits));
  for (size_t at = 0; at < lzw.size(); at += 255) {  // data sub-blocks of up to 255 bytes
    const size_t n = std::min<size_t>(255, lzw.size() - at);
    b.push_back(uint8_t(n));
    b.insert(b.end(), lzw.begin() + std::ptrdiff_t(at), lzw.begin() + std::ptrdiff_t(at + n));
  }
  b.insert(b.end(), {0, 0x3b});  // block terminator, trailer
  return b;
}

// A PNG that is only a signature and an IHDR chunk declaring w x h 8-bit gray pixels: no pixel
// data at all, so a decode attempt could only fail, differently.
Bytes png_header_only(uint32_t w, uint32_t h) {
  Bytes b{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto u32 = [&b](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
  };
  u32(13);
  b.insert(b.end(), {'I', 'H', 'D', 'R'});
  u32(w), u32(h);
  b.insert(b.end(), {8, 0, 0, 0, 0});  // depth 8, gray, deflate, no filter, no interlace
  u32(0);                              // CRC (stb_image does not check it)
  return b;
}

// ---------------------------------------------------------------------------------------------
// Decoding

TEST(ImageDecode, PngOfEveryChannelCountRoundTrips) {
  for (int channels : {1, 2, 3, 4}) {
    const Bytes pixels = pattern(9, 11, channels);
    const DecodedImage image = decode_image(png(9, 11, channels, pixels), "p.png");
    EXPECT_EQ(image.width, 9);
    EXPECT_EQ(image.height, 11);
    EXPECT_EQ(image.channels, channels) << "decoded at the file's own channel count";
    EXPECT_EQ(image.pixels, pixels) << channels << " channels";
  }
}

TEST(ImageDecode, JpegDecodesCloseToWhatWasEncoded) {
  Bytes pixels(16 * 16 * 3);  // a smooth gradient, which JPEG keeps well
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) pixels[size_t((y * 16 + x) * 3 + c)] = uint8_t(40 + 8 * x + 4 * y + 10 * c);
  const DecodedImage image = decode_image(jpeg(16, 16, 3, pixels, 95), "p.jpg");
  ASSERT_EQ(image.channels, 3);
  ASSERT_EQ(image.pixels.size(), pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) EXPECT_NEAR(image.pixels[i], pixels[i], 8) << "byte " << i;
}

TEST(ImageDecode, BmpRoundTrips) {
  const Bytes pixels = pattern(10, 8, 3);
  const DecodedImage image = decode_image(bmp(10, 8, 3, pixels), "p.bmp");
  EXPECT_EQ(image.channels, 3);
  EXPECT_EQ(image.pixels, pixels);
}

TEST(ImageDecode, HandWrittenGifDecodesToItsPalette) {
  const std::array<std::array<uint8_t, 3>, 4> palette{{{0, 0, 0}, {255, 255, 255}, {200, 30, 10}, {5, 90, 250}}};
  Bytes indices(8 * 9);
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = uint8_t((i * 5 + i / 8) % 4);
  const DecodedImage image = decode_image(gif(8, 9, palette, indices), "p.gif");
  ASSERT_EQ(image.width, 8);
  ASSERT_EQ(image.height, 9);
  ASSERT_EQ(image.channels, 4);  // stb_image reads GIF as RGBA
  for (size_t i = 0; i < indices.size(); ++i) {
    for (size_t c = 0; c < 3; ++c) EXPECT_EQ(image.pixels[i * 4 + c], palette[indices[i]][c]) << "pixel " << i;
    EXPECT_EQ(image.pixels[i * 4 + 3], 255);
  }
}

TEST(ImageDecode, EmptyBytes) {
  expect_input_error([] { decode_image({}, "upload"); }, {"upload", "empty"});
}

TEST(ImageDecode, ForeignBytesAreNotAnImage) {
  const std::string text = "hello, this is not an image at all";
  expect_input_error([&] { decode_image(Bytes(text.begin(), text.end()), "upload"); },
                     {"upload: not a PNG, JPEG, BMP or GIF image (or a corrupt one)"});
}

TEST(ImageDecode, FormatsStbReadsButWeDoNotPromiseAreRejected) {
  // stb_image would decode this TGA; only the four formats the header names get through.
  const Bytes pixels = pattern(8, 8, 1);
  ASSERT_NO_THROW(decode_image(png(8, 8, 1, pixels), "control.png"));
  expect_input_error([&] { decode_image(tga(8, 8, 1, pixels), "p.tga"); }, {"p.tga", "not a PNG, JPEG, BMP or GIF"});
}

TEST(ImageDecode, CorruptPngNamesTheFormat) {
  Bytes file = png(12, 12, 1, pattern(12, 12, 1));
  for (size_t i = 33; i < file.size(); ++i) file[i] ^= 0x5a;  // everything after IHDR
  expect_input_error([&] { decode_image(file, "digit.png"); }, {"digit.png", "PNG image that cannot be decoded"});
}

TEST(ImageDecode, EveryTruncationOfAPngIsAnInputError) {
  const Bytes pixels = pattern(12, 12, 1);
  const Bytes file = png(12, 12, 1, pixels);
  const size_t iend = file.size() - 12;  // the closing chunk: length, "IEND", CRC
  for (size_t n = 1; n < file.size(); ++n) {
    const Bytes cut(file.begin(), file.begin() + std::ptrdiff_t(n));
    if (n < iend) {
      EXPECT_THROW(decode_image(cut, "cut.png"), InputError) << n << " of " << file.size() << " bytes";
    } else {  // every pixel is there: decoding them is fine, decoding them wrong is not
      try {
        EXPECT_EQ(decode_image(cut, "cut.png").pixels, pixels) << n << " of " << file.size() << " bytes";
      } catch (const InputError&) {
      }
    }
  }
}

TEST(ImageDecode, TruncatedJpegHeader) {
  const Bytes file = jpeg(16, 16, 1, pattern(16, 16, 1), 90);
  expect_input_error([&] { decode_image(Bytes(file.begin(), file.begin() + 20), "photo.jpg"); },
                     {"photo.jpg", "JPEG image that cannot be decoded"});
}

TEST(ImageDecode, TooSmallImages) {
  expect_input_error([] { decode_image(png(1, 1, 1, {0}), "digit.png"); },
                     {"digit.png: 1 x 1 pixels: an image must be at least 8 x 8"});
  expect_input_error([] { decode_image(png(7, 30, 1, pattern(7, 30, 1)), "thin.png"); }, {"7 x 30 pixels"});
  ASSERT_NO_THROW(decode_image(png(8, 8, 1, pattern(8, 8, 1)), "control.png"));
}

TEST(ImageDecode, HugeHeaderIsRejectedBeforeDecoding) {
  // The file holds no pixel data: the limit must be reported, not a failed decode.
  expect_input_error([] { decode_image(png_header_only(20000, 20000), "big.png"); },
                     {"big.png: 20000 x 20000 pixels is over the limit of 40,000,000"});
  expect_input_error([] { decode_image(png(16, 16, 1, pattern(16, 16, 1)), "p.png", {.max_pixels = 255}); },
                     {"p.png: 16 x 16 pixels is over the limit of 255"});
  ASSERT_NO_THROW(decode_image(png(16, 16, 1, pattern(16, 16, 1)), "p.png", {.max_pixels = 256}));
}

// Found by fuzz_serve_body, JPEGs with Huffman tables that stb_image v2.27 mishandles: one that
// broke an assertion in Debian's libstb.so (abort(), serve with it), and one whose scan uses a
// table the file never defines (read from uninitialised memory, far out of bounds; the sanitizer
// builds fail on it). Their pixels are garbage; what matters is a result or an InputError.
TEST(ImageDecode, JpegsWithBrokenHuffmanTablesDecodeOrFailCleanly) {
  for (const std::string name : {"regression_jpeg_huffman_assertion", "regression_jpeg_undefined_huffman_table"}) {
    try {
      const DecodedImage image = read_image_file("tests/fuzz/corpus/fuzz_image/" + name);
      EXPECT_EQ(image.pixels.size(), size_t(image.width) * size_t(image.height) * size_t(image.channels)) << name;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(ImageDecode, OverMaxBytes) {
  const Bytes file = png(16, 16, 1, pattern(16, 16, 1));
  const std::string size = std::to_string(file.size()), limit = std::to_string(file.size() - 1);
  expect_input_error([&] { decode_image(file, "p.png", {.max_bytes = file.size() - 1}); },
                     {"p.png: " + size + " bytes is over the limit of " + limit});
  ASSERT_NO_THROW(decode_image(file, "p.png", {.max_bytes = file.size()}));
}

TEST(ImageFile, WrittenPngReadsBack) {
  test::TempDir dir;
  const Bytes pixels = pattern(13, 10, 1);
  write_png(dir / "g.png", pixels, 13, 10);
  const DecodedImage image = read_image_file(dir / "g.png");
  EXPECT_EQ(image.width, 13);
  EXPECT_EQ(image.channels, 1);
  EXPECT_EQ(image.pixels, pixels);
  EXPECT_EQ(decode_image(encode_png(pixels, 13, 10), "mem").pixels, pixels);
  EXPECT_THROW(encode_png(pixels, 13, 11), std::invalid_argument);
}

TEST(ImageFile, BadFiles) {
  test::TempDir dir;
  expect_input_error([&] { read_image_file(dir / "missing.png"); }, {"missing.png", "no such file"});
  expect_input_error([&] { read_image_file(dir.path()); }, {"not a regular file"});
  write_png(dir / "g.png", pattern(16, 16, 1), 16, 16);
  const auto size = std::filesystem::file_size(dir / "g.png");
  expect_input_error([&] { read_image_file(dir / "g.png", {.max_bytes = size - 1}); },
                     {"g.png", "bytes is over the limit of " + std::to_string(size - 1)});
  test::write_bytes(dir / "t.png", {'n', 'o', 't'});
  expect_input_error([&] { read_image_file(dir / "t.png"); }, {"t.png", "not a PNG, JPEG, BMP or GIF"});
}

// ---------------------------------------------------------------------------------------------
// Preprocessing: helpers

const MnistFiles kMnist("data/mnist");
using test::mnist_test;  // read once, on first use (so that a missing file fails a test)

// The first `per_class` test digits of every class, in file order.
std::vector<int> sample_digits(int per_class) {
  std::vector<int> picked, count(10, 0);
  const auto& set = mnist_test();
  for (int i = 0; i < set.count() && int(picked.size()) < 10 * per_class; ++i)
    if (count[set.labels[size_t(i)]]++ < per_class) picked.push_back(i);
  return picked;
}

std::span<const uint8_t> digit(int i) { return test::mnist_digit(i); }

DecodedImage gray_image(int w, int h, Bytes pixels) { return {w, h, 1, std::move(pixels)}; }

DecodedImage mnist_image(int i) { return gray_image(28, 28, Bytes(digit(i).begin(), digit(i).end())); }

std::vector<float> preprocess(const DecodedImage& image) { return mnist_style(image, "test image"); }

// L2 distance to an MNIST digit (bytes / 255) after the best whole-pixel shift of up to one pixel
// each way: MNIST placed its digits by whole pixels, so which of two neighbouring positions a
// centre of mass rounds to is arbitrary; centring itself has its own test.
double aligned_distance(const std::vector<float>& out, std::span<const uint8_t> original) {
  double best = INFINITY;
  for (int sy = -1; sy <= 1; ++sy)
    for (int sx = -1; sx <= 1; ++sx) {
      double sum = 0;
      for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x) {
          const int ys = y + sy, xs = x + sx;
          const double a = ys < 0 || ys >= 28 || xs < 0 || xs >= 28 ? 0.0 : out[size_t(ys * 28 + xs)];
          const double d = a - original[size_t(y * 28 + x)] / 255.0;
          sum += d * d;
        }
      best = std::min(best, sum);
    }
  return std::sqrt(best);
}

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}

struct Moments {
  double mass = 0, cx = 0, cy = 0;
  int x0 = 1 << 20, y0 = 1 << 20, x1 = -1, y1 = -1;  // bounding box of nonzero pixels, inclusive
};

Moments moments(const std::vector<float>& image, int side = 28) {
  Moments m;
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      const double v = image[size_t(y * side + x)];
      if (v <= 0) continue;
      m.mass += v, m.cx += v * x, m.cy += v * y;
      m.x0 = std::min(m.x0, x), m.x1 = std::max(m.x1, x), m.y0 = std::min(m.y0, y), m.y1 = std::max(m.y1, y);
    }
  m.cx /= m.mass, m.cy /= m.mass;
  return m;
}

// A w x h canvas of `paper` with test digit i's coverage drawn in `ink` at (left, top).
DecodedImage canvas_with_digit(int i, int w, int h, int left, int top, uint8_t paper, uint8_t ink) {
  Bytes p(size_t(w) * size_t(h), paper);
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      const double c = digit(i)[size_t(y * 28 + x)] / 255.0;
      p[size_t((top + y) * w + left + x)] = uint8_t(std::lround(paper + (ink - paper) * c));
    }
  return gray_image(w, h, std::move(p));
}

// ---------------------------------------------------------------------------------------------
// Preprocessing: real digits

TEST(Preprocess, MnistDigitsPassThroughNearlyUnchanged) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  // Measured over these 100 digits: L2 median 0.04, 90th percentile 0.09, max 0.28; the largest
  // single-pixel change 0.05 (the contrast stretch: MNIST's ink peaks at 253 or 254 as often as
  // at 255). Over all 10,000 test digits 110 change by more than 0.3: 27 of them a lot, because a
  // speck under 2% of the digit's mass went and the box shrank; the rest by the stretch.
  int unchanged = 0;
  for (int i : sample_digits(10)) {
    const std::vector<float> out = preprocess(mnist_image(i));
    double sum = 0, worst = 0;
    for (size_t k = 0; k < 784; ++k) {
      const double d = out[k] - digit(i)[k] / 255.0;
      sum += d * d, worst = std::max(worst, std::abs(d));
    }
    unchanged += std::sqrt(sum) < 0.3 && worst < 0.08;
  }
  EXPECT_GE(unchanged, 98) << "of 100 MNIST digits come back as they were";
}

// Measured over the 100 digits (L2 after the best whole-pixel shift, see aligned_distance; an
// MNIST digit's own norm is ~9), and the bounds, with ~10% headroom on the mean:
//   style        mean   max    bound: mean  max
//   off-centre   0.05   0.28          0.15  0.6
//   scaled 10x   1.92   3.58          2.2   4.0    (RGB ink, alpha ink, inverted: the same)
//   thickened    4.60   6.66          5.0   7.5    (thicker than the original: the gap stays)
//   JPEG         2.54   4.78          2.8   5.3
//   noisy photo  2.27   3.68          2.5   4.2
// Each broken step, measured by breaking it: no centring (box at the top left) gives means of
// 11; the box centred instead of the centre of mass 3.7 (scaled) and 2.5 (off-centre); 20 x 20
// regardless of the aspect ratio 6.2; point sampling instead of area averaging 2.48 / 4.26
// (scaled, mean / max), 2.98 (JPEG), 2.68 (photo); no contrast stretch 5.6 (photo) and 2.7 (RGB
// ink); ink polarity always light, or the background taken as flat: "no ink found" for the
// dark-ink styles and photos.
struct StyleBound {
  UserStyle style;
  double mean, max;
};

void PrintTo(const StyleBound& b, std::ostream* os) {
  *os << test::user_style_name(b.style) << " (mean <= " << b.mean << ", max <= " << b.max << ")";
}

class PreprocessUserStyle : public testing::TestWithParam<StyleBound> {};

TEST_P(PreprocessUserStyle, ComesBackCloseToTheOriginal) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  const StyleBound bound = GetParam();
  std::vector<double> distances;
  for (int i : sample_digits(10)) {
    const Bytes file = test::user_style_image(digit(i), bound.style, uint32_t(i));
    const std::vector<float> out = preprocess_image(file, "user image");
    distances.push_back(aligned_distance(out, digit(i)));
    EXPECT_LE(distances.back(), bound.max) << "test digit " << i;
  }
  const double mean = std::accumulate(distances.begin(), distances.end(), 0.0) / double(distances.size());
  EXPECT_LE(mean, bound.mean);
}

std::string style_test_name(const testing::TestParamInfo<StyleBound>& param) {
  std::string name = test::user_style_name(param.param.style);
  std::erase_if(name, [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); });
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    Styles, PreprocessUserStyle,
    testing::Values(StyleBound{UserStyle::kOffCentre, 0.15, 0.6}, StyleBound{UserStyle::kScaled, 2.2, 4.0},
                    StyleBound{UserStyle::kInverted, 2.2, 4.0}, StyleBound{UserStyle::kThickened, 5.0, 7.5},
                    StyleBound{UserStyle::kRgbInk, 2.2, 4.0}, StyleBound{UserStyle::kAlphaInk, 2.2, 4.0},
                    StyleBound{UserStyle::kJpeg, 2.8, 5.3}, StyleBound{UserStyle::kPhoto, 2.5, 4.2}),
    style_test_name);

TEST(Preprocess, CentreOfMassLandsWhereMnistsDoes) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  // MNIST's mean centre of mass is (14.0, 14.0) in pixel-index coordinates (x = 0 .. 27), each
  // digit within half a pixel of it (whole-pixel placement).
  double worst = 0;
  for (UserStyle style : {UserStyle::kOffCentre, UserStyle::kScaled, UserStyle::kPhoto})
    for (int i : sample_digits(5)) {
      const Moments m = moments(preprocess_image(test::user_style_image(digit(i), style, uint32_t(i)), "c"));
      worst = std::max({worst, std::abs(m.cx - 14), std::abs(m.cy - 14)});
    }
  EXPECT_LE(worst, 0.55);  // measured: 0.51 (the contrast stretch's clipping moves it a little)
}

TEST(Preprocess, LongerSideOfTheInkIsTheBox) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  for (UserStyle style : {UserStyle::kOffCentre, UserStyle::kScaled, UserStyle::kPhoto})
    for (int i : sample_digits(5)) {
      const Moments m = moments(preprocess_image(test::user_style_image(digit(i), style, uint32_t(i)), "c"));
      EXPECT_EQ(std::max(m.x1 - m.x0, m.y1 - m.y0) + 1, 20) << test::user_style_name(style) << ", digit " << i;
    }
}

TEST(Preprocess, OtherGeometries) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  const DecodedImage image = canvas_with_digit(0, 80, 60, 20, 9, 255, 0);
  const std::vector<float> out = mnist_style(image, "g", {.side = 40, .box = 30});
  ASSERT_EQ(out.size(), 1600u);
  const Moments m = moments(out, 40);
  EXPECT_EQ(std::max(m.x1 - m.x0, m.y1 - m.y0) + 1, 30);
  EXPECT_NEAR(m.cx, 20, 0.55);
  EXPECT_NEAR(m.cy, 20, 0.55);
  EXPECT_THROW(mnist_style(image, "g", {.side = 20, .box = 21}), std::invalid_argument);
  EXPECT_THROW(mnist_style(image, "g", {.side = 28, .box = 0}), std::invalid_argument);
}

// A w x h gray image of `paper` holding rectangles of `ink`: {x, y, width, height} each.
DecodedImage rectangles(int w, int h, uint8_t paper, uint8_t ink, std::initializer_list<std::array<int, 4>> boxes) {
  Bytes p(size_t(w) * size_t(h), paper);
  for (const auto& [bx, by, bw, bh] : boxes)
    for (int y = by; y < by + bh; ++y) std::fill_n(&p[size_t(y * w + bx)], bw, ink);
  return gray_image(w, h, std::move(p));
}

TEST(Preprocess, AspectRatioIsKept) {
  // 60 x 150 -> 8 x 20 and 150 x 45 -> 20 x 6, whole pixels both: solid blocks of exactly that size.
  for (const auto& [w, h, ow, oh] : {std::array{60, 150, 8, 20}, std::array{150, 45, 20, 6}}) {
    const std::vector<float> out = preprocess(rectangles(200, 200, 230, 20, {{30, 25, w, h}}));
    const Moments m = moments(out);
    EXPECT_EQ(m.x1 - m.x0 + 1, ow) << w << " x " << h;
    EXPECT_EQ(m.y1 - m.y0 + 1, oh) << w << " x " << h;
    for (int y = m.y0; y <= m.y1; ++y)
      for (int x = m.x0; x <= m.x1; ++x) EXPECT_NEAR(out[size_t(y * 28 + x)], 1.0f, 1e-4f) << x << ", " << y;
  }
}

TEST(Preprocess, ShrinkingAveragesInsteadOfAliasing) {
  // 1-pixel stripes, 1 pixel apart, over a 190 x 190 square: every output pixel covers 9.5
  // input columns, 4.5 to 5 of them ink, so the square comes out even. Point sampling would
  // pick whole stripes or whole gaps: columns of 0 next to columns of 1.
  Bytes p(200 * 200, 0);
  for (int y = 5; y < 195; ++y)
    for (int x = 5; x < 195; x += 2) p[size_t(y * 200 + x)] = 255;
  const std::vector<float> out = preprocess(gray_image(200, 200, std::move(p)));
  const Moments m = moments(out);
  ASSERT_EQ(m.x1 - m.x0 + 1, 20);
  float lo = 1, hi = 0;
  for (int y = m.y0 + 1; y < m.y1; ++y)
    for (int x = m.x0 + 1; x < m.x1; ++x) {
      lo = std::min(lo, out[size_t(y * 28 + x)]);
      hi = std::max(hi, out[size_t(y * 28 + x)]);
    }
  EXPECT_GE(lo, 0.85f * hi);
}

TEST(Preprocess, EnlargingInterpolatesLinearly) {
  // A 2-pixel wide column whose ink rises linearly over 10 rows, on a 16 x 16 image: enlarged 2x,
  // its centre column rises linearly too (steps in pairs would be point sampling).
  Bytes p(16 * 16, 0);
  for (int k = 0; k < 10; ++k) p[size_t((3 + k) * 16 + 7)] = p[size_t((3 + k) * 16 + 8)] = uint8_t(25 * (k + 1));
  const std::vector<float> out = preprocess(gray_image(16, 16, std::move(p)));
  const Moments m = moments(out);
  ASSERT_EQ(m.y1 - m.y0 + 1, 20);
  const int x = int(std::lround(m.cx));
  // Rows 1 .. 14 of the 20 stay clear of both ends and of the contrast stretch's clipping.
  const float step = out[size_t((m.y0 + 2) * 28 + x)] - out[size_t((m.y0 + 1) * 28 + x)];
  EXPECT_GT(step, 0.02f);
  for (int y = m.y0 + 2; y < m.y0 + 14; ++y)
    EXPECT_NEAR(out[size_t((y + 1) * 28 + x)] - out[size_t(y * 28 + x)], step, 1e-4f) << "row " << y - m.y0;
}

TEST(Preprocess, InvertingTheInputGivesTheSameOutput) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  for (int i : sample_digits(2)) {
    DecodedImage image = decode_image(test::user_style_image(digit(i), UserStyle::kScaled, uint32_t(i)), "s");
    const std::vector<float> light_on_dark = preprocess(image);
    for (uint8_t& v : image.pixels) v = uint8_t(255 - v);
    EXPECT_LE(max_abs_difference(preprocess(image), light_on_dark), 1e-5) << "digit " << i;
  }
}

TEST(Preprocess, WhereTheDigitSitsDoesNotMatter) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  for (int i : sample_digits(2)) {
    const std::vector<float> centred = preprocess(canvas_with_digit(i, 90, 70, 31, 21, 0, 255));
    EXPECT_LE(max_abs_difference(preprocess(canvas_with_digit(i, 90, 70, 1, 40, 0, 255)), centred), 1e-5);
    EXPECT_LE(max_abs_difference(preprocess(canvas_with_digit(i, 90, 70, 60, 3, 0, 255)), centred), 1e-5);
  }
}

DecodedImage to_rgb(const DecodedImage& gray) {
  DecodedImage rgb{gray.width, gray.height, 3, {}};
  for (uint8_t v : gray.pixels) rgb.pixels.insert(rgb.pixels.end(), {v, v, v});
  return rgb;
}

TEST(Preprocess, GrayAndRgbGiveTheSame) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  for (int i : sample_digits(2)) {
    // Within half a gray level: R = G = B gives the gray level up to float rounding, and that may
    // tip a cell at the background fit's inlier limit one way or the other.
    const DecodedImage gray = canvas_with_digit(i, 60, 50, 12, 7, 240, 30);
    EXPECT_LE(max_abs_difference(preprocess(to_rgb(gray)), preprocess(gray)), 0.5 / 255) << "digit " << i;
  }
}

TEST(Preprocess, ColourCountsByRec601Luma) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  // Red (255, 0, 0) has luma 76.2 and green (0, 130, 0) 76.3: red ink on that green is invisible
  // to a Rec. 601 reader; on a brighter green it is not.
  auto red_on_green = [](uint8_t green) {
    const DecodedImage coverage = canvas_with_digit(0, 40, 40, 6, 6, 0, 255);
    DecodedImage rgb{40, 40, 3, {}};
    for (uint8_t c : coverage.pixels) {
      const double a = c / 255.0;
      rgb.pixels.insert(rgb.pixels.end(), {uint8_t(std::lround(255 * a)), uint8_t(std::lround(green * (1 - a))), 0});
    }
    return rgb;
  };
  expect_input_error([&] { mnist_style(red_on_green(130), "red.png"); }, {"red.png", "no ink found"});
  const Moments m = moments(preprocess(red_on_green(250)));
  EXPECT_EQ(std::max(m.x1 - m.x0, m.y1 - m.y0) + 1, 20);
}

// The digit's coverage as a canvas export: `colour` ink, alpha = coverage, transparent elsewhere.
DecodedImage alpha_only(int i, uint8_t colour, int channels) {
  const DecodedImage coverage = canvas_with_digit(i, 50, 40, 4, 9, 0, 255);
  DecodedImage out{50, 40, channels, {}};
  for (uint8_t a : coverage.pixels) {
    const uint8_t c = a ? colour : 0;
    if (channels == 4)
      out.pixels.insert(out.pixels.end(), {c, c, c, a});
    else
      out.pixels.insert(out.pixels.end(), {c, a});
  }
  return out;
}

TEST(Preprocess, AlphaInkEqualsTheSameInkOnPaper) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  for (int i : sample_digits(1)) {
    const std::vector<float> on_paper = preprocess(canvas_with_digit(i, 50, 40, 4, 9, 255, 0));
    for (int channels : {2, 4})
      for (uint8_t colour : {0, 255})  // black ink over white, white ink over black
        EXPECT_LE(max_abs_difference(preprocess(alpha_only(i, colour, channels)), on_paper), 1e-5)
            << "digit " << i << ", " << channels << " channels, ink " << int(colour);
  }
}

TEST(Preprocess, OpaqueAlphaIsIgnored) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  const DecodedImage gray = canvas_with_digit(3, 50, 40, 4, 9, 200, 40);
  DecodedImage rgba{50, 40, 4, {}};
  for (uint8_t v : gray.pixels) rgba.pixels.insert(rgba.pixels.end(), {v, v, v, 255});
  EXPECT_LE(max_abs_difference(preprocess(rgba), preprocess(gray)), 1e-5);
}

TEST(Preprocess, SpecksGoDetachedPartsStay) {
  // A bar 6 x 60; a 1-pixel speck and a 2 x 2 one far from it are noise, a 6 x 6 block (10% of
  // the bar's ink) is a part of the digit (the dot of an i, a broken stroke).
  const std::vector<float> bar = preprocess(rectangles(120, 120, 255, 0, {{40, 20, 6, 60}}));
  const std::vector<float> specked = preprocess(
      rectangles(120, 120, 255, 0, {{40, 20, 6, 60}, {100, 110, 1, 1}, {5, 3, 2, 2}}));
  EXPECT_LE(max_abs_difference(specked, bar), 1e-5);

  const std::vector<float> dotted = preprocess(rectangles(120, 120, 255, 0, {{40, 20, 6, 60}, {40, 90, 6, 6}}));
  const Moments m = moments(dotted);
  EXPECT_EQ(m.y1 - m.y0 + 1, 20);  // the bar and the dot, 76 pixels tall, fill the box
  int empty_rows = 0;              // with the 10-pixel gap between them
  for (int y = m.y0; y <= m.y1; ++y)
    empty_rows += std::all_of(&dotted[size_t(y * 28)], &dotted[size_t(y * 28 + 28)], [](float v) { return v == 0; });
  EXPECT_GE(empty_rows, 2);
}

TEST(Preprocess, ImagesWithoutInkAreRejected) {
  test::user_style_detail::Random random(7);
  auto noise = [&](int w, int h, double level, double sigma, double gradient) {
    Bytes p(size_t(w) * size_t(h));
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) p[size_t(y * w + x)] = to_byte(level + gradient * x / w + sigma * random.gaussian());
    return gray_image(w, h, std::move(p));
  };
  Bytes random_bytes(100 * 100);
  for (uint8_t& b : random_bytes) b = uint8_t(random.next());
  const std::vector<std::pair<std::string, DecodedImage>> blank{
      {"black", gray_image(28, 28, Bytes(784, 0))},
      {"white", gray_image(64, 64, Bytes(64 * 64, 255))},
      {"gray RGB", DecodedImage{30, 20, 3, Bytes(30 * 20 * 3, 120)}},
      {"transparent", DecodedImage{50, 50, 4, Bytes(50 * 50 * 4, 0)}},
      {"gaussian noise", noise(200, 200, 128, 12, 0)},
      {"lit paper", noise(300, 200, 120, 3, 90)},
      {"random bytes", gray_image(100, 100, random_bytes)},
  };
  for (const auto& [name, image] : blank)
    expect_input_error([&] { mnist_style(image, name + ".png"); },
                       {name + ".png: no ink found (the image is blank, uniform or only noise)"});
}

TEST(Preprocess, LargeImagesComeOutLikeSmallOnes) {
  ASSERT_TRUE(kMnist.all_present()) << "real MNIST missing: run tools/fetch_mnist.sh";
  // A digit drawn 60x (1680 pixels) on a 2400 x 2000 page: shrunk to the working size first,
  // it must come out as the 10x one does.
  const int i = sample_digits(1)[7];
  auto page = [&](int scale, int w, int h) {
    const std::vector<float> ink = test::user_style_detail::upscale(digit(i), scale);
    const int n = 28 * scale;
    Bytes p(size_t(w) * size_t(h), 255);
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) p[size_t((y + 100) * w + x + 300)] = to_byte(255 * (1 - ink[size_t(y * n + x)]));
    return gray_image(w, h, std::move(p));
  };
  const std::vector<float> large = preprocess(page(60, 2400, 2000)), small = preprocess(page(10, 640, 420));
  EXPECT_LE(aligned_distance(large, to_bytes(small)), 0.6);
}

TEST(Preprocess, TinyImagesAreEnlarged) {
  const Moments m = moments(preprocess(rectangles(8, 8, 0, 255, {{3, 1, 2, 5}})));
  EXPECT_EQ(m.y1 - m.y0 + 1, 20);
}

TEST(Preprocess, ToBytesRoundsAndClamps) {
  EXPECT_EQ(to_bytes({0.0f, 0.4f / 255, 0.6f / 255, 0.5f, 1.0f, 1.5f, -0.2f}), (Bytes{0, 0, 1, 128, 255, 255, 0}));
}

TEST(Preprocess, DecodeErrorsNameTheSource) {
  expect_input_error(
      [] {
        preprocess_image(Bytes{1, 2, 3}, "request field 'image'");
      },
      {"request field 'image': not a PNG, JPEG, BMP or GIF image"});
}

}  // namespace
}  // namespace hdr

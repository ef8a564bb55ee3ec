// Number segmentation (engine/io/read_number.h) on drawn shapes whose right answer is known by
// construction, with a classifier stub, so that only the geometry is under test: marks become
// digits left to right with their boxes in the source's pixels, broken strokes join, a mark too
// wide for one digit is cut at its thinnest point, and what is not a line of digits is refused.
#include <gtest/gtest.h>

#include <vector>

#include "engine/io/read_number.h"
#include "tests/expect_input_error.h"

namespace hdr {
namespace {

// A white page with black rectangles of ink.
struct Page {
  int width, height;
  std::vector<uint8_t> pixels;
  Page(int w, int h) : width(w), height(h), pixels(size_t(w) * size_t(h), 255) {}
  Page& ink(int x0, int y0, int x1, int y1) {
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) pixels[size_t(y) * size_t(width) + size_t(x)] = 0;
    return *this;
  }
  // A ring: a digit-like 0 of outer size w x h and stroke s.
  Page& ring(int x0, int y0, int w, int h, int s) {
    return ink(x0, y0, x0 + w, y0 + s)
        .ink(x0, y0 + h - s, x0 + w, y0 + h)
        .ink(x0, y0, x0 + s, y0 + h)
        .ink(x0 + w - s, y0, x0 + w, y0 + h);
  }
  DecodedImage image() const { return {width, height, 1, pixels}; }
};

// Reads every digit as a 3 with probability 0.6: no cut is ever surer than the whole, so only
// the geometry decides.
std::vector<float> unsure_threes(std::span<const float> images) {
  std::vector<float> out;
  for (size_t i = 0; i < images.size() / 784; ++i)
    for (int c = 0; c < 10; ++c) out.push_back(c == 3 ? 0.6f : 0.4f / 9);
  return out;
}

NumberReading read(const Page& page) { return read_number(page.image(), "page.png", unsure_threes); }

TEST(ReadNumber, SeparateMarksAreDigitsLeftToRightWithTheirBoxes) {
  Page page(200, 60);
  page.ring(130, 10, 24, 40, 5).ring(20, 12, 24, 40, 5).ink(80, 10, 86, 50);  // drawn out of order
  const NumberReading r = read(page);
  ASSERT_EQ(r.digits.size(), 3u);
  EXPECT_EQ(r.text, "333");
  EXPECT_NEAR(r.confidence, 0.6 * 0.6 * 0.6, 1e-5);
  const int xs[] = {20, 80, 130}, ws[] = {24, 6, 24}, ys[] = {12, 10, 10};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.digits[i].x, xs[i]) << i;
    EXPECT_EQ(r.digits[i].width, ws[i]) << i;
    EXPECT_EQ(r.digits[i].y, ys[i]) << i;
    EXPECT_EQ(r.digits[i].height, 40) << i;
    EXPECT_EQ(r.digits[i].image.size(), 784u);
    EXPECT_EQ(r.digits[i].prediction, 3);
    EXPECT_FLOAT_EQ(r.digits[i].confidence, 0.6f);
  }
}

TEST(ReadNumber, BoxesAreInTheSourcesPixelsWhenTheImageIsLarge) {
  Page page(2000, 300);  // worked on at a quarter of the size
  page.ring(100, 40, 120, 200, 24).ring(1600, 40, 120, 200, 24);
  const NumberReading r = read(page);
  ASSERT_EQ(r.digits.size(), 2u);
  EXPECT_NEAR(r.digits[0].x, 100, 4);
  EXPECT_NEAR(r.digits[0].width, 120, 8);
  EXPECT_NEAR(r.digits[1].x, 1600, 4);
  EXPECT_NEAR(r.digits[1].height, 200, 8);
}

TEST(ReadNumber, BrokenStrokesJoinTheirDigit) {
  Page page(200, 60);
  page.ink(20, 8, 44, 13).ring(20, 18, 24, 34, 5);     // a bar over a body, sharing its columns
  page.ring(90, 10, 24, 40, 5).ink(116, 46, 119, 50);  // a dot beside a digit
  page.ink(150, 10, 156, 50);
  const NumberReading r = read(page);
  ASSERT_EQ(r.digits.size(), 3u) << r.text;
  EXPECT_EQ(r.digits[0].y, 8);
  EXPECT_EQ(r.digits[0].height, 44);
  EXPECT_EQ(r.digits[1].x + r.digits[1].width, 119);
}

TEST(ReadNumber, AMarkTooWideForOneDigitIsCutAtItsThinnestPoint) {
  Page page(200, 60);
  page.ring(20, 10, 26, 40, 5).ring(52, 10, 26, 40, 5).ink(46, 28, 52, 31);  // two rings joined by a thin bridge
  const NumberReading r = read(page);
  ASSERT_EQ(r.digits.size(), 2u);
  EXPECT_EQ(r.digits[0].x, 20);
  EXPECT_GE(r.digits[0].x + r.digits[0].width, 46);  // the cut runs through the bridge
  EXPECT_LE(r.digits[0].x + r.digits[0].width, 52);
  EXPECT_EQ(r.digits[1].x + r.digits[1].width, 78);
}

TEST(ReadNumber, ThreeTouchingDigitsAreCutTwice) {
  Page page(200, 60);
  page.ring(20, 10, 26, 40, 5).ring(50, 10, 26, 40, 5).ring(80, 10, 26, 40, 5).ink(46, 28, 50, 31).ink(76, 28, 80, 31);
  EXPECT_EQ(read(page).digits.size(), 3u);
}

TEST(ReadNumber, WhatIsNotALineOfDigitsIsRefused) {
  test::expect_input_error([] { read(Page(100, 40)); }, {"page.png", "no ink"});

  Page stacked(100, 140);
  stacked.ring(20, 10, 24, 40, 5).ring(20, 80, 24, 40, 5);
  test::expect_input_error([&] { read(stacked); }, {"page.png", "more than one line"});

  Page dots(400, 40);
  for (int x = 4; x < 396; x += 4) dots.ink(x, 18, x + 2, 20);
  test::expect_input_error([&] { read(dots); }, {"page.png", "separate marks", "20 digits"});

  Page many(700, 40);
  for (int k = 0; k < 25; ++k) many.ring(10 + 27 * k, 10, 14, 22, 3);
  test::expect_input_error([&] { read(many); }, {"page.png", "more than 20 digits"});
}

}  // namespace
}  // namespace hdr

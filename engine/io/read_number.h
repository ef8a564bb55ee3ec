// Reading a line of handwritten digits (an amount, a postcode, a meter reading): the ink is found
// as for one digit (find_ink), cut into digits, and each digit preprocessed exactly as a single
// digit (digit_from_ink) and classified.
//
// Segmentation, in order:
//  1. Marks: the 8-connected components of the ink.
//  2. Broken strokes: two marks sharing half or more of the wider one's columns are one digit
//     (the detached bar of a 5, a 6's loop); a mark too short or too light to be a digit joins
//     its nearest neighbour.
//  3. Touching digits: a mark wider than a digit is cut along the seam of least ink from top to
//     bottom (a path that may bend, for slanted and overlapping pairs). The classifier chooses:
//     among the few best seams the one whose two halves it reads most surely, and, when the mark
//     could be one wide digit, whether to cut at all (then only through a thin join); the halves
//     are examined again (three touching digits).
//  4. Order: left to right by the centre of each digit's box.
// The line is refused (InputError) when it cannot be a line of digits: no ink, more than
// max_digits digits, or ink stacked more than one line high.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"

namespace hdr {

// n preprocessed digits (n x side x side values) -> n x classes probabilities.
using DigitClassifier = std::function<std::vector<float>(std::span<const float> images)>;

struct NumberDigit {
  int x = 0, y = 0, width = 0, height = 0;  // box in the source image's pixels
  std::vector<float> image;                 // side x side, what the classifier saw
  std::vector<float> probabilities;
  int prediction = 0;
  float confidence = 0;  // probability of prediction
};

struct NumberReading {
  std::vector<NumberDigit> digits;  // left to right
  std::string text;                 // the predictions as digits ("0417"); classes 10+ print as '?'
  double confidence = 0;            // product of the digits' confidences
};

struct NumberLimits {
  int max_digits = 20;
};

NumberReading read_number(const DecodedImage& image, const std::string& source, const DigitClassifier& classify,
                          DigitGeometry geometry = {}, NumberLimits limits = {});

}  // namespace hdr

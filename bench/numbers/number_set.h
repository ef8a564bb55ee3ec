// A test set of handwritten numbers nobody tuned to: each number is composed of MNIST **test**
// digits (never training digits) with random gaps, scale and baseline jitter, in either polarity
// and at several sizes, so that `hdr predict --number` is scored on writing it never saw. Sample i
// is a pure function of (seed, i), the same on every machine.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/idx.h"
#include "engine/io/image_io.h"

namespace hdr::bench {

// How the digits of a number are spaced: all apart (a blank column at least between any two), or
// apart but for one pair whose ink touches, or one pair whose ink overlaps by 1-3 pixels per size
// step.
enum class GapKind { kApart, kTouching, kOverlapping };
inline constexpr std::array kGapKinds{GapKind::kApart, GapKind::kTouching, GapKind::kOverlapping};
const char* gap_name(GapKind kind);

struct NumberSetOptions {
  int min_digits = 2, max_digits = 10;
  std::vector<int> sizes{1, 2, 3};  // pixels per MNIST pixel, one drawn per number
};

struct NumberSample {
  std::string text;  // the digits' labels, left to right
  GapKind gap = GapKind::kApart;
  int size = 1;
  bool dark_ink = false;  // dark ink on light paper, else MNIST's light on dark
  DecodedImage image;     // gray
};

NumberSample make_number(const LabelledImages& test_set, uint64_t seed, int index,
                         const NumberSetOptions& options = {});

// Counts of digits and whole numbers read right, for one group of samples. A digit is right by the
// edit distance between the text read and the truth: a missed or extra digit costs one.
struct ReadingTally {
  int numbers = 0, numbers_right = 0, digits = 0, digits_right = 0, refused = 0;
  int miscounted = 0;  // read with more or fewer digits than written (a segmentation error)
  void add(const std::string& truth, const std::string& read, bool was_refused);
  double number_accuracy() const { return numbers ? double(numbers_right) / numbers : 0; }
  double digit_accuracy() const { return digits ? double(digits_right) / digits : 0; }
};

}  // namespace hdr::bench

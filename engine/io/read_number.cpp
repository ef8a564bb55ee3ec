#include "engine/io/read_number.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "engine/core/errors.h"
#include "engine/io/ink_components.h"

namespace hdr {
namespace {

constexpr double kSharedColumns = 0.5;   // of the wider mark's columns, shared by two strokes of a digit
constexpr double kShortestDigit = 0.45;  // of the tallest mark: a shorter mark is part of a digit
constexpr double kLightestDigit = 0.1;   // of the median mark's ink: a lighter mark is part of a digit
constexpr double kDigitHeight = 0.5;     // marks at least this share of the tallest one set the digit height
constexpr double kLineHeights = 1.8;     // ink taller than this many digit heights is not one line
constexpr double kMayBeTwo = 0.9;        // a mark wider than this many digit heights may be two digits
constexpr double kMustBeTwo = 1.25;      // and wider than this many is
constexpr double kNarrowest = 0.2;       // digit heights: the narrowest half a cut may leave (a 1)
constexpr double kThinJoin = 0.1;        // digit heights of full ink crossed, at most, by a cut that may be wrong
constexpr int kSeams = 5;                // candidate cuts the classifier judges
constexpr float kBend = 0.02f;           // a seam's cost per sideways step, so that straight cuts win ties
constexpr int kMarksPerDigit = 4;        // marks allowed per digit of the limit, before joining pieces

// A candidate digit: its own ink (other marks' ink is 0) on a crop of the working canvas.
struct Piece {
  int x0 = 0, y0 = 0;
  Plane ink;
  int x1() const { return x0 + ink.width; }
  int y1() const { return y0 + ink.height; }
  double centre_x() const { return x0 + ink.width / 2.0; }
  double mass() const {
    double m = 0;
    for (float v : ink.v) m += v;
    return m;
  }
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The piece cropped to its ink; nullopt when it holds none.
std::optional<Piece> trimmed(const Piece& p) {
  int x0 = p.ink.width, y0 = p.ink.height, x1 = 0, y1 = 0;
  for (int y = 0; y < p.ink.height; ++y)
    for (int x = 0; x < p.ink.width; ++x)
      if (p.ink.row(y)[x] > 0) x0 = std::min(x0, x), x1 = std::max(x1, x + 1), y0 = std::min(y0, y), y1 = y + 1;
  if (x1 <= x0) return std::nullopt;
  Piece out{p.x0 + x0, p.y0 + y0, {x1 - x0, y1 - y0, std::vector<float>(size_t(x1 - x0) * size_t(y1 - y0))}};
  for (int y = y0; y < y1; ++y) std::copy(p.ink.row(y) + x0, p.ink.row(y) + x1, out.ink.row(y - y0));
  return out;
}

std::vector<Piece> marks(const Plane& ink) {
  const InkComponents components = label_components(ink.v, ink.width, ink.height);
  std::vector<Piece> out;
  for (const InkComponent& c : components.list) {
    Piece p{c.x0, c.y0, {c.width(), c.height(), std::vector<float>(size_t(c.width()) * size_t(c.height()))}};
    out.push_back(std::move(p));
  }
  for (int y = 0; y < ink.height; ++y)
    for (int x = 0; x < ink.width; ++x) {
      const int32_t id = components.label[size_t(y) * size_t(ink.width) + size_t(x)];
      if (id == InkComponents::kPaper) continue;
      Piece& p = out[size_t(id)];
      p.ink.row(y - p.y0)[x - p.x0] = ink.row(y)[x];
    }
  return out;
}

Piece joined(const Piece& a, const Piece& b) {
  const int x0 = std::min(a.x0, b.x0), y0 = std::min(a.y0, b.y0);
  const int x1 = std::max(a.x1(), b.x1()), y1 = std::max(a.y1(), b.y1());
  Piece out{x0, y0, {x1 - x0, y1 - y0, std::vector<float>(size_t(x1 - x0) * size_t(y1 - y0))}};
  for (const Piece* p : {&a, &b})
    for (int y = 0; y < p->ink.height; ++y)
      for (int x = 0; x < p->ink.width; ++x) {
        float& v = out.ink.row(p->y0 - y0 + y)[p->x0 - x0 + x];
        v = std::max(v, p->ink.row(y)[x]);
      }
  return out;
}

// Step 2, broken strokes. Two marks sharing most of the wider one's columns are one digit drawn
// in strokes (a 5's bar, a 6's loop): digits side by side share few. Then a mark too short to be a
// digit (a dot, a stroke's tail) joins its nearest neighbour.
void join_broken_strokes(std::vector<Piece>& pieces) {
  const auto shared = [](const Piece& a, const Piece& b) { return std::min(a.x1(), b.x1()) - std::max(a.x0, b.x0); };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < pieces.size() && !changed; ++i)
      for (size_t j = i + 1; j < pieces.size() && !changed; ++j) {
        if (shared(pieces[i], pieces[j]) < kSharedColumns * std::max(pieces[i].ink.width, pieces[j].ink.width))
          continue;
        pieces[i] = joined(pieces[i], pieces[j]);
        pieces.erase(pieces.begin() + std::ptrdiff_t(j));
        changed = true;
      }
  }
  while (pieces.size() > 1) {
    int tallest = 0;
    std::vector<double> masses;
    for (const Piece& p : pieces) tallest = std::max(tallest, p.ink.height), masses.push_back(p.mass());
    const double typical_mass = median(masses);
    const auto part = std::find_if(pieces.begin(), pieces.end(), [&](const Piece& p) {
      return p.ink.height < kShortestDigit * tallest || p.mass() < kLightestDigit * typical_mass;
    });
    if (part == pieces.end()) return;
    auto nearest = pieces.end();
    for (auto it = pieces.begin(); it != pieces.end(); ++it)
      if (it != part && (nearest == pieces.end() || shared(*it, *part) > shared(*nearest, *part))) nearest = it;
    *nearest = joined(*nearest, *part);
    pieces.erase(part);
  }
}

// The median height and ink of the marks that are not small pieces: a digit's in this line.
struct LineScale {
  double height = 0, mass = 0;
};

LineScale line_scale(const std::vector<Piece>& pieces) {
  int tallest = 0;
  for (const Piece& p : pieces) tallest = std::max(tallest, p.ink.height);
  std::vector<double> heights, masses;
  for (const Piece& p : pieces)
    if (p.ink.height >= kDigitHeight * tallest) heights.push_back(p.ink.height), masses.push_back(p.mass());
  return {median(heights), median(masses)};
}

// A cut from top to bottom: column[y] is the first column of the right half in row y.
struct Seam {
  std::vector<int> column;
  float ink = 0;  // crossed
};

// Up to `count` seams from top to bottom through columns [lo, hi] of the piece, one step sideways at
// most per row, by least ink crossed (dynamic programming), cheapest first, ending at least two
// columns apart.
std::vector<Seam> cheapest_seams(const Plane& ink, int lo, int hi, int count) {
  const int w = hi - lo + 1, h = ink.height;
  std::vector<float> cost(size_t(w) * size_t(h));
  std::vector<int8_t> step(cost.size(), 0);
  for (int y = 0; y < h; ++y)
    for (int i = 0; i < w; ++i) {
      float best = 0;
      int8_t from = 0;
      if (y > 0) {
        best = std::numeric_limits<float>::max();
        for (int d = -1; d <= 1; ++d) {
          if (i + d < 0 || i + d >= w) continue;
          const float c = cost[size_t(y - 1) * size_t(w) + size_t(i + d)] + (d ? kBend : 0.0f);
          if (c < best) best = c, from = int8_t(d);
        }
      }
      cost[size_t(y) * size_t(w) + size_t(i)] = best + ink.row(y)[lo + i];
      step[size_t(y) * size_t(w) + size_t(i)] = from;
    }
  std::vector<int> ends(size_t(w), 0);
  for (int i = 0; i < w; ++i) ends[size_t(i)] = i;
  const float* last = &cost[size_t(h - 1) * size_t(w)];
  std::stable_sort(ends.begin(), ends.end(), [&](int a, int b) { return last[a] < last[b]; });
  std::vector<Seam> seams;
  std::vector<int> taken;
  for (int end : ends) {
    if (int(seams.size()) == count) break;
    if (std::any_of(taken.begin(), taken.end(), [&](int t) { return std::abs(t - end) < 2; })) continue;
    taken.push_back(end);
    Seam seam{std::vector<int>(size_t(h)), 0};
    for (int y = h - 1, i = end; y >= 0; --y) {
      seam.column[size_t(y)] = lo + i;
      seam.ink += ink.row(y)[lo + i];
      i += step[size_t(y) * size_t(w) + size_t(i)];
    }
    seams.push_back(std::move(seam));
  }
  return seams;
}

// The piece cut along a seam into its two halves, each trimmed; nullopt when one holds no ink.
std::optional<std::pair<Piece, Piece>> cut(const Piece& p, const Seam& seam) {
  Piece left = p, right = p;
  for (int y = 0; y < p.ink.height; ++y) {
    std::fill(left.ink.row(y) + seam.column[size_t(y)], left.ink.row(y) + p.ink.width, 0.0f);
    std::fill(right.ink.row(y), right.ink.row(y) + seam.column[size_t(y)], 0.0f);
  }
  std::optional<Piece> l = trimmed(left), r = trimmed(right);
  if (!l || !r) return std::nullopt;
  return std::pair{std::move(*l), std::move(*r)};
}

class Segmenter {
 public:
  Segmenter(const DigitClassifier& classify, DigitGeometry geometry, LineScale scale, const std::string& source,
            int max_digits)
      : classify_(classify), geometry_(geometry), scale_(scale), source_(source), max_digits_(max_digits) {}

  // Step 3: the piece as one digit, or cut in two where the classifier reads the halves more
  // surely (always when it is too wide for one), each half examined again.
  void split(const Piece& p, std::vector<Piece>& out) const {
    if (out.size() >= size_t(max_digits_))  // checked as it goes: one long scribble could cut into many
      throw InputError(fmt::format("{}: more than {} digits: not a number this reads", source_, max_digits_));
    const int narrowest = std::max(1, int(std::ceil(kNarrowest * scale_.height)));
    if (p.ink.width < kMayBeTwo * scale_.height || p.ink.width - narrowest <= narrowest) {
      out.push_back(p);
      return;
    }
    // A mark that may be one digit is cut only where it is thin: two digits touch at a point,
    // while a cut through one digit crosses strokes.
    const bool must = p.ink.width > kMustBeTwo * scale_.height;
    std::vector<std::pair<Piece, Piece>> halves;
    for (const Seam& seam : cheapest_seams(p.ink, narrowest, p.ink.width - narrowest, kSeams))
      if (auto h = cut(p, seam);
          h && could_be_digit(h->first) && could_be_digit(h->second) && (must || seam.ink <= kThinJoin * scale_.height))
        halves.push_back(std::move(*h));
    if (halves.empty()) {
      out.push_back(p);
      return;
    }
    std::vector<const Piece*> judged{&p};
    for (const auto& [l, r] : halves) judged.insert(judged.end(), {&l, &r});
    const std::vector<double> sure = log_confidences(judged);
    size_t best = 0;
    for (size_t k = 1; k < halves.size(); ++k)
      if (sure[1 + 2 * k] + sure[2 + 2 * k] > sure[1 + 2 * best] + sure[2 + 2 * best]) best = k;
    if (!must && sure[1 + 2 * best] + sure[2 + 2 * best] <= sure[0]) {
      out.push_back(p);
      return;
    }
    split(halves[best].first, out);
    split(halves[best].second, out);
  }

  std::vector<float> image(const Piece& p) const { return digit_from_ink(p.ink, geometry_); }

 private:
  // A half a cut may leave: tall and heavy enough to be a digit, not a stroke's tail.
  bool could_be_digit(const Piece& p) const {
    return p.ink.height >= kShortestDigit * scale_.height && p.mass() >= kLightestDigit * scale_.mass;
  }

  // log of the classifier's top probability for each piece.
  std::vector<double> log_confidences(const std::vector<const Piece*>& pieces) const {
    std::vector<float> batch;
    for (const Piece* p : pieces) {
      const std::vector<float> digit = image(*p);
      batch.insert(batch.end(), digit.begin(), digit.end());
    }
    const std::vector<float> probabilities = classify_(batch);
    const size_t classes = probabilities.size() / pieces.size();
    std::vector<double> out;
    for (size_t i = 0; i < pieces.size(); ++i) {
      const auto row = probabilities.begin() + std::ptrdiff_t(i * classes);
      out.push_back(std::log(std::max(double(*std::max_element(row, row + std::ptrdiff_t(classes))), 1e-30)));
    }
    return out;
  }

  const DigitClassifier& classify_;
  DigitGeometry geometry_;
  LineScale scale_;
  const std::string& source_;
  int max_digits_;
};

NumberDigit digit_of(const Piece& p, const InkImage& ink, const DecodedImage& image) {
  NumberDigit d;
  d.x = std::min(p.x0 * ink.factor, image.width - 1);
  d.y = std::min(p.y0 * ink.factor, image.height - 1);
  d.width = std::min(p.x1() * ink.factor, image.width) - d.x;
  d.height = std::min(p.y1() * ink.factor, image.height) - d.y;
  return d;
}

}  // namespace

NumberReading read_number(const DecodedImage& image, const std::string& source, const DigitClassifier& classify,
                          DigitGeometry geometry, NumberLimits limits) {
  const InkImage ink = find_ink(image, source);
  std::vector<Piece> pieces = marks(ink.ink);
  if (pieces.size() > size_t(kMarksPerDigit) * size_t(limits.max_digits))
    throw InputError(fmt::format("{}: {} separate marks: not a line of at most {} digits", source, pieces.size(),
                                 limits.max_digits));
  // Before broken strokes join: two digits one above the other would join as one.
  const LineScale marks_scale = line_scale(pieces);
  int top = ink.ink.height, bottom = 0;
  for (const Piece& p : pieces) top = std::min(top, p.y0), bottom = std::max(bottom, p.y1());
  if (bottom - top > kLineHeights * marks_scale.height)
    throw InputError(fmt::format("{}: the ink is {} pixels tall for digits about {:.0f} tall: more than one line of "
                                 "digits, or not digits",
                                 source, (bottom - top) * ink.factor, marks_scale.height * ink.factor));
  join_broken_strokes(pieces);
  const LineScale scale = line_scale(pieces);

  const Segmenter segmenter(classify, geometry, scale, source, limits.max_digits);
  std::vector<Piece> digits;
  for (const Piece& p : pieces) segmenter.split(p, digits);
  std::stable_sort(digits.begin(), digits.end(),
                   [](const Piece& a, const Piece& b) { return a.centre_x() < b.centre_x(); });

  NumberReading out;
  std::vector<float> batch;
  for (const Piece& p : digits) {
    out.digits.push_back(digit_of(p, ink, image));
    out.digits.back().image = segmenter.image(p);
    batch.insert(batch.end(), out.digits.back().image.begin(), out.digits.back().image.end());
  }
  const std::vector<float> probabilities = classify(batch);
  const size_t classes = probabilities.size() / digits.size();
  out.confidence = 1;
  for (size_t i = 0; i < out.digits.size(); ++i) {
    NumberDigit& d = out.digits[i];
    d.probabilities.assign(probabilities.begin() + std::ptrdiff_t(i * classes),
                           probabilities.begin() + std::ptrdiff_t((i + 1) * classes));
    d.prediction = int(std::max_element(d.probabilities.begin(), d.probabilities.end()) - d.probabilities.begin());
    d.confidence = d.probabilities[size_t(d.prediction)];
    out.text += d.prediction < 10 ? char('0' + d.prediction) : '?';
    out.confidence *= d.confidence;
  }
  return out;
}

}  // namespace hdr

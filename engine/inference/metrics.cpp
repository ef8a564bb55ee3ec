#include "engine/inference/metrics.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <stdexcept>

namespace hdr {
namespace {

double ratio(int64_t num, int64_t den) { return den > 0 ? double(num) / double(den) : 0.0; }

void require_square(std::span<const int64_t> confusion, int classes) {
  if (classes < 1 || confusion.size() != size_t(classes) * size_t(classes))
    throw std::invalid_argument("confusion matrix: expected classes x classes counts");
}

}  // namespace

ClassificationReport classification_report(std::span<const int64_t> confusion, int classes) {
  require_square(confusion, classes);
  const auto cell = [&](int t, int p) { return confusion[size_t(t) * classes + p]; };
  ClassificationReport r;
  int64_t correct = 0;
  for (int c = 0; c < classes; ++c) {
    int64_t predicted = 0, actual = 0;
    for (int k = 0; k < classes; ++k) {
      predicted += cell(k, c);
      actual += cell(c, k);
    }
    ClassMetrics m;
    m.precision = ratio(cell(c, c), predicted);
    m.recall = ratio(cell(c, c), actual);
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
    m.support = actual;
    r.classes.push_back(m);
    correct += cell(c, c);
    r.total += actual;
  }
  for (const ClassMetrics& m : r.classes) {
    r.macro.precision += m.precision / classes;
    r.macro.recall += m.recall / classes;
    r.macro.f1 += m.f1 / classes;
    const double w = ratio(m.support, r.total);
    r.weighted.precision += w * m.precision;
    r.weighted.recall += w * m.recall;
    r.weighted.f1 += w * m.f1;
  }
  r.macro.support = r.weighted.support = r.total;
  r.accuracy = ratio(correct, r.total);
  return r;
}

double roc_auc(std::span<const float> scores, std::span<const bool> positive) {
  if (scores.size() != positive.size()) throw std::invalid_argument("roc_auc: scores and labels differ in length");
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' ranks (1-based), each run of tied scores sharing its average rank.
  double positive_rank_sum = 0;
  int64_t positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (double(i + 1) + double(j)) / 2;
    for (size_t k = i; k < j; ++k)
      if (positive[order[k]]) {
        positive_rank_sum += average_rank;
        ++positives;
      }
    i = j;
  }
  const int64_t negatives = int64_t(n) - positives;
  if (positives == 0 || negatives == 0) return NAN;
  const double u = positive_rank_sum - double(positives) * double(positives + 1) / 2;
  return u / (double(positives) * double(negatives));
}

std::vector<double> one_vs_rest_auc(std::span<const float> probabilities, std::span<const uint8_t> labels,
                                    int classes) {
  if (classes < 1 || probabilities.size() != labels.size() * size_t(classes))
    throw std::invalid_argument("one_vs_rest_auc: expected labels.size() x classes probabilities");
  const size_t n = labels.size();
  std::vector<float> scores(n);
  std::unique_ptr<bool[]> positive(new bool[n]);  // std::vector<bool> has no span
  std::vector<double> out;
  for (int c = 0; c < classes; ++c) {
    for (size_t i = 0; i < n; ++i) {
      scores[i] = probabilities[i * classes + c];
      positive[i] = labels[i] == c;
    }
    out.push_back(roc_auc(scores, std::span<const bool>(positive.get(), n)));
  }
  return out;
}

std::vector<ConfusedPair> most_confused(std::span<const int64_t> confusion, int classes, int limit) {
  require_square(confusion, classes);
  std::vector<ConfusedPair> pairs;
  for (int t = 0; t < classes; ++t)
    for (int p = 0; p < classes; ++p)
      if (t != p && confusion[size_t(t) * classes + p] > 0) pairs.push_back({t, p, confusion[size_t(t) * classes + p]});
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const ConfusedPair& a, const ConfusedPair& b) { return a.count > b.count; });
  if (int(pairs.size()) > limit) pairs.resize(size_t(std::max(0, limit)));
  return pairs;
}

}  // namespace hdr

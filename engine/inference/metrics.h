// Classification metrics from a confusion matrix and per-image probabilities: the per-class
// precision / recall / F1 / support table with macro and weighted averages (sklearn's
// classification_report, zero_division=0), one-vs-rest ROC AUC per class, and the most
// confused (true, predicted) pairs. Pure functions of their inputs; reports and `hdr eval
// --json` print what these return.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace hdr {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  // images whose true label is the class
};

struct ClassificationReport {
  std::vector<ClassMetrics> classes;
  ClassMetrics macro, weighted;  // unweighted mean over classes; mean weighted by support
  double accuracy = 0;
  int64_t total = 0;
};

// confusion: classes x classes, row = true label, column = prediction. A class never predicted
// has precision 0 (and one never present recall 0), not a division by zero.
ClassificationReport classification_report(std::span<const int64_t> confusion, int classes);

// The area under the ROC curve of `scores` for telling positives from the rest: the probability
// that a random positive scores above a random negative, ties counting one half (Mann-Whitney U
// with average ranks). NaN when either side is empty. On the host for both backends, not a
// Thrust sort on the device: evaluation downloads the probabilities anyway (the report's
// most confident mistakes need them), and sorting 10 x 10,000 scores takes ~15 ms on a 2-core
// CPU, once per report.
double roc_auc(std::span<const float> scores, std::span<const bool> positive);

// One-vs-rest AUC per class: probabilities n x classes, labels n.
std::vector<double> one_vs_rest_auc(std::span<const float> probabilities, std::span<const uint8_t> labels, int classes);

struct ConfusedPair {
  int true_label = 0, predicted = 0;
  int64_t count = 0;
};

// The off-diagonal cells of the confusion matrix with the highest counts (at most `limit`,
// none with a count of 0), highest first; ties in label order.
std::vector<ConfusedPair> most_confused(std::span<const int64_t> confusion, int classes, int limit);

}  // namespace hdr

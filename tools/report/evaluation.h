// What a test-set evaluation says: the classification report, one-vs-rest AUCs and most
// confused pairs derived from an EvalResult, shown three ways that must agree: `--json`
// (nested confusion matrix, per-class table), aligned terminal tables, and report.html.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "engine/inference/metrics.h"
#include "engine/io/run_records.h"

namespace hdr::report {

struct Evaluation {
  EvalResult result;
  ClassificationReport metrics;
  std::vector<double> auc;             // per class; empty when the result has no probabilities
  std::vector<ConfusedPair> confused;  // the most confused (true, predicted) pairs
};

// labels: the true label of every evaluated image, in evaluation order.
Evaluation analyse(EvalResult result, std::span<const uint8_t> labels);

// {count, loss, accuracy, confusion: [[...]], classes: [{label, precision, recall, f1, support,
// auc}], macro_avg, weighted_avg, most_confused: [{true, predicted, count}]}; AUC null when a
// class has no positives or no negatives.
nlohmann::json evaluation_json(const Evaluation& e);

// sklearn-style classification report with an AUC column, then the confusion matrix, as
// aligned text for the terminal.
std::string classification_table(const Evaluation& e);
std::string confusion_table(const EvalResult& r);

}  // namespace hdr::report

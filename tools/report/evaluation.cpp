#include "tools/report/evaluation.h"

#include <fmt/format.h>

#include <cmath>

namespace hdr::report {
namespace {

nlohmann::json metrics_json(const ClassMetrics& m) {
  return {{"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1}, {"support", m.support}};
}

std::string metrics_row(std::string_view name, const ClassMetrics& m, std::string_view auc) {
  std::string row = fmt::format("{:>12} {:>9.4f} {:>9.4f} {:>9.4f} {:>9} {:>9}", name, m.precision, m.recall, m.f1,
                                m.support, auc);
  row.erase(row.find_last_not_of(' ') + 1);
  return row + '\n';
}

}  // namespace

Evaluation analyse(EvalResult result, std::span<const uint8_t> labels) {
  Evaluation e;
  e.metrics = classification_report(result.confusion, result.classes);
  if (!result.probabilities.empty()) e.auc = one_vs_rest_auc(result.probabilities, labels, result.classes);
  e.confused = most_confused(result.confusion, result.classes, 5);
  e.result = std::move(result);
  return e;
}

nlohmann::json evaluation_json(const Evaluation& e) {
  const EvalResult& r = e.result;
  nlohmann::json confusion = nlohmann::json::array();
  for (int t = 0; t < r.classes; ++t)
    confusion.push_back(std::vector<int64_t>(r.confusion.begin() + int64_t(t) * r.classes,
                                             r.confusion.begin() + int64_t(t + 1) * r.classes));
  nlohmann::json classes = nlohmann::json::array();
  for (int c = 0; c < r.classes; ++c) {
    nlohmann::json row = metrics_json(e.metrics.classes[size_t(c)]);
    row["label"] = c;
    row["auc"] = e.auc.empty() || std::isnan(e.auc[size_t(c)]) ? nlohmann::json() : nlohmann::json(e.auc[size_t(c)]);
    classes.push_back(row);
  }
  nlohmann::json confused = nlohmann::json::array();
  for (const ConfusedPair& p : e.confused)
    confused.push_back({{"true", p.true_label}, {"predicted", p.predicted}, {"count", p.count}});
  return {{"count", r.count},
          {"loss", r.loss},
          {"accuracy", r.accuracy},
          {"confusion", confusion},
          {"classes", classes},
          {"macro_avg", metrics_json(e.metrics.macro)},
          {"weighted_avg", metrics_json(e.metrics.weighted)},
          {"most_confused", confused}};
}

std::string classification_table(const Evaluation& e) {
  std::string out = fmt::format("{:>12} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "", "precision", "recall", "f1-score",
                                "support", "auc");
  for (size_t c = 0; c < e.metrics.classes.size(); ++c)
    out += metrics_row(std::to_string(c), e.metrics.classes[c],
                       e.auc.empty() || std::isnan(e.auc[c]) ? "-" : fmt::format("{:.4f}", e.auc[c]));
  out += fmt::format("\n{:>12} {:>9} {:>9} {:>9.4f} {:>9}\n", "accuracy", "", "", e.metrics.accuracy, e.metrics.total);
  out += metrics_row("macro avg", e.metrics.macro, "");
  out += metrics_row("weighted avg", e.metrics.weighted, "");
  return out;
}

std::string confusion_table(const EvalResult& r) {
  std::string out = "Confusion matrix (rows: true label, columns: predicted)\n      ";
  for (int p = 0; p < r.classes; ++p) out += fmt::format("{:>6}", p);
  out += '\n';
  for (int t = 0; t < r.classes; ++t) {
    out += fmt::format("{:>6}", t);
    for (int p = 0; p < r.classes; ++p) out += fmt::format("{:>6}", r.confusion[size_t(t) * r.classes + p]);
    out += '\n';
  }
  return out;
}

}  // namespace hdr::report

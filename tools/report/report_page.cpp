#include "tools/report/report_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/core/atomic_file.h"
#include "engine/core/errors.h"
#include "tools/report/charts.h"
#include "tools/report/svg.h"

namespace hdr::report {
namespace {

namespace fs = std::filesystem;

constexpr int kGridColumns = 10;
constexpr int kSamples = 30, kMistakes = 20;

bool has_validation(const std::vector<EpochRecord>& history) {
  return std::any_of(history.begin(), history.end(), [](const EpochRecord& r) { return r.val_loss != 0; });
}

// One chart of a metric over epochs: per run, the validation curve solid and the training curve
// dashed; a single run also gets the learning rate on the right axis and the markers.
std::string curves_chart(const std::vector<CurveSet>& runs, const std::string& title, const std::string& y_label,
                         double EpochRecord::*train, double EpochRecord::*validation, double y_max, int best_epoch,
                         int early_stop_epoch) {
  LineChart chart{.title = title, .x_label = "epoch", .y_label = y_label, .y_max = y_max};
  const bool single = runs.size() == 1;
  for (size_t i = 0; i < runs.size(); ++i) {
    const CurveSet& run = runs[i];
    const std::string prefix = run.label.empty() ? "" : run.label + ": ";
    Series t{.name = prefix + "training", .color = series_color(single ? 0 : i), .dash = single ? "" : "6 4"};
    Series v{.name = prefix + "validation", .color = series_color(single ? 1 : i)};
    for (const EpochRecord& r : run.history) {
      t.x.push_back(r.epoch);
      t.y.push_back(r.*train);
      v.x.push_back(r.epoch);
      v.y.push_back(r.*validation);
    }
    chart.left.push_back(std::move(t));
    if (has_validation(run.history)) chart.left.push_back(std::move(v));
  }
  if (single) {
    Series lr{.name = "learning rate", .color = series_color(2), .dash = "2 3"};
    for (const EpochRecord& r : runs[0].history) {
      lr.x.push_back(r.epoch);
      lr.y.push_back(r.lr);
    }
    chart.right = std::move(lr);
    chart.right_label = "learning rate";
    if (best_epoch > 0) chart.markers.push_back({double(best_epoch), fmt::format("best epoch {}", best_epoch), "#555"});
    if (early_stop_epoch > 0)
      chart.markers.push_back({double(early_stop_epoch), fmt::format("early stop {}", early_stop_epoch), "#d62728"});
  }
  return render_line_chart(chart);
}

std::vector<DigitSample> digit_samples(const Evaluation& e, const LabelledImages& images,
                                       const std::vector<int>& indices) {
  const EvalResult& r = e.result;
  const size_t pixels = size_t(images.images.rows) * size_t(images.images.cols);
  std::vector<DigitSample> out;
  for (int i : indices) {
    const std::span<const float> p(r.probabilities.data() + size_t(i) * r.classes, size_t(r.classes));
    out.push_back({.pixels = std::span(images.images.pixels.data() + size_t(i) * pixels, pixels),
                   .height = images.images.rows,
                   .width = images.images.cols,
                   .label = images.labels[size_t(i)],
                   .predicted = int(std::max_element(p.begin(), p.end()) - p.begin()),
                   .probabilities = p});
  }
  return out;
}

// The wrong predictions made with the highest probability, most confident first.
std::vector<int> confident_mistakes(const Evaluation& e, const LabelledImages& images, int limit) {
  const EvalResult& r = e.result;
  std::vector<std::pair<float, int>> wrong;
  for (int i = 0; i < r.count; ++i) {
    const float* p = r.probabilities.data() + size_t(i) * r.classes;
    const int predicted = int(std::max_element(p, p + r.classes) - p);
    if (predicted != images.labels[size_t(i)]) wrong.emplace_back(p[predicted], i);
  }
  std::stable_sort(wrong.begin(), wrong.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<int> out;
  for (size_t k = 0; k < std::min(wrong.size(), size_t(limit)); ++k) out.push_back(wrong[k].second);
  return out;
}

std::string per_class_table(const Evaluation& e) {
  std::string rows;
  auto row = [&](const std::string& name, const std::string& key, const ClassMetrics& m, const std::string& auc) {
    rows += fmt::format(
        R"(<tr data-row="{}"><th>{}</th><td class="precision">{:.4f}</td><td class="recall">{:.4f}</td>)"
        R"(<td class="f1">{:.4f}</td><td class="support">{}</td><td class="auc">{}</td></tr>)"
        "\n",
        key, name, m.precision, m.recall, m.f1, m.support, auc);
  };
  for (size_t c = 0; c < e.metrics.classes.size(); ++c)
    row(std::to_string(c), std::to_string(c), e.metrics.classes[c],
        e.auc.empty() || std::isnan(e.auc[c]) ? "-" : fmt::format("{:.4f}", e.auc[c]));
  row("macro avg", "macro_avg", e.metrics.macro, "");
  row("weighted avg", "weighted_avg", e.metrics.weighted, "");
  return R"(<table id="per-class"><thead><tr><th>digit</th><th>precision</th><th>recall</th><th>F1</th>)"
         R"(<th>support</th><th>ROC AUC</th></tr></thead><tbody>)"
         "\n" +
         rows + "</tbody></table>\n";
}

std::string confused_list(const Evaluation& e) {
  if (e.confused.empty()) return "<p>No digit was mistaken for another.</p>\n";
  std::string items;
  for (const ConfusedPair& p : e.confused)
    items += fmt::format("<li>a {} read as {}: {} image{}</li>\n", p.true_label, p.predicted, p.count,
                         p.count == 1 ? "" : "s");
  return "<h3>Most confused pairs</h3>\n<ol id=\"confused\">\n" + items + "</ol>\n";
}

// A chart as a file and as the page's figure: the same string in both.
class Figures {
 public:
  explicit Figures(fs::path dir) : dir_(std::move(dir)) {}
  std::string add(const std::string& file, const std::string& svg) {
    write(file, std::span(reinterpret_cast<const uint8_t*>(svg.data()), svg.size()));
    return fmt::format("<figure>\n{}<figcaption>{}</figcaption>\n</figure>\n", svg, xml_escape(file));
  }
  void write(const std::string& file, std::span<const uint8_t> bytes) {
    write_file_atomically(dir_ / file, bytes, Durability::kAtomicOnly);
    written_.push_back(dir_ / file);
  }
  std::vector<fs::path> written() const { return written_; }

 private:
  fs::path dir_;
  std::vector<fs::path> written_;
};

std::string grid_section(Figures& figures, const std::string& name, const std::string& heading,
                         const std::vector<DigitSample>& samples, const std::string& empty_text) {
  std::string html = fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", name, xml_escape(heading));
  if (samples.empty()) return html + "<p>" + xml_escape(empty_text) + "</p>\n</section>\n";
  html += figures.add(name + ".svg", render_sample_grid(samples, kGridColumns, heading));
  figures.write(name + ".png", sample_grid_png(samples, kGridColumns));
  return html + "</section>\n";
}

std::string evaluation_sections(Figures& figures, const Evaluation& e, const LabelledImages& images) {
  const EvalResult& r = e.result;
  std::string html = fmt::format(
      "<section id=\"evaluation\">\n<h2>Test set</h2>\n<p>Accuracy <b id=\"accuracy\">{:.2f}%</b> ({} of {} "
      "images), loss <span id=\"loss\">{:.4f}</span></p>\n",
      100 * r.accuracy, std::llround(e.metrics.accuracy * double(e.metrics.total)), r.count, r.loss);
  html += "<div class=\"row\">\n" +
          figures.add("confusion.svg", render_confusion_matrix(r.confusion, r.classes, "Confusion matrix")) +
          "<div>\n" + confused_list(e) + "</div>\n</div>\n";
  html += "<h3>Per digit</h3>\n" + per_class_table(e) + "</section>\n";
  std::vector<int> first(size_t(std::min(kSamples, r.count)));
  std::iota(first.begin(), first.end(), 0);
  html += grid_section(figures, "samples", fmt::format("The first {} test images", first.size()),
                       digit_samples(e, images, first), "No images were evaluated.");
  html += grid_section(figures, "mistakes", "The most confident mistakes",
                       digit_samples(e, images, confident_mistakes(e, images, kMistakes)), "No mistakes.");
  return html;
}

}  // namespace

std::string accuracy_chart(const std::vector<CurveSet>& runs, int best_epoch, int early_stop_epoch) {
  return curves_chart(runs, "Accuracy", "accuracy", &EpochRecord::accuracy, &EpochRecord::val_accuracy, 1.0, best_epoch,
                      early_stop_epoch);
}

std::string loss_chart(const std::vector<CurveSet>& runs, int best_epoch, int early_stop_epoch) {
  return curves_chart(runs, "Loss", "loss (cross-entropy)", &EpochRecord::loss, &EpochRecord::val_loss, INFINITY,
                      best_epoch, early_stop_epoch);
}

std::string facts_table(const std::vector<std::pair<std::string, std::string>>& facts) {
  std::string rows;
  for (const auto& [key, value] : facts)
    rows += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", xml_escape(key), xml_escape(value));
  return "<table class=\"facts\">\n" + rows + "</table>\n";
}

std::string html_page(const std::string& title, const std::string& body) {
  return fmt::format(R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{0}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1240px; color: #222; padding: 0 16px; }}
h1 {{ font-size: 24px; }} h2 {{ font-size: 19px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }}
table {{ border-collapse: collapse; margin: 8px 0; }}
th, td {{ padding: 3px 10px; text-align: right; border-bottom: 1px solid #eee; }}
table.facts th, table.facts td {{ text-align: left; }}
figure {{ display: inline-block; margin: 8px 16px 8px 0; vertical-align: top; }}
figcaption {{ font-size: 12px; color: #777; }}
svg {{ max-width: 100%; height: auto; }}
.row {{ display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }}
pre {{ background: #f6f6f6; padding: 12px; overflow-x: auto; font-size: 12px; }}
</style>
</head>
<body>
<h1>{0}</h1>
{1}<footer><p>Made by hdr; every chart here is also a file next to this page.</p></footer>
</body>
</html>
)",
                     xml_escape(title), body);
}

std::vector<fs::path> write_report(const fs::path& dir, const ReportInput& input) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw InputError(fmt::format("{}: cannot make the report folder here: {}", dir.string(),
                                 ec ? ec.message() : "a file of that name is in the way"));
  Figures figures(dir);
  std::string body = "<section id=\"run\">\n<h2>Run</h2>\n" + facts_table(input.facts);
  if (!input.config_text.empty())
    body += "<details><summary>Config</summary><pre>" + xml_escape(input.config_text) + "</pre></details>\n";
  body += "</section>\n";
  if (!input.history.empty()) {
    const std::vector<CurveSet> run{{"", input.history}};
    body += "<section id=\"curves\">\n<h2>Training curves</h2>\n";
    body += figures.add("accuracy.svg", accuracy_chart(run, input.best_epoch, input.early_stop_epoch));
    body += figures.add("loss.svg", loss_chart(run, input.best_epoch, input.early_stop_epoch));
    body += "</section>\n";
  }
  if (input.evaluation && input.images) body += evaluation_sections(figures, *input.evaluation, *input.images);
  const std::string page = html_page(input.title, body);
  figures.write("report.html", std::span(reinterpret_cast<const uint8_t*>(page.data()), page.size()));
  return figures.written();
}

}  // namespace hdr::report

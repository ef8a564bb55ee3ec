// report.html: one self-contained page (no network, opens from disk) about a run or an
// evaluation, and the same charts beside it as standalone files a README or paper can embed:
// accuracy.svg, loss.svg (training runs), confusion.svg, samples.svg/.png, mistakes.svg/.png.
// Each SVG is rendered once; the string written to its file is the one inlined in the page.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/idx.h"
#include "engine/io/run_records.h"
#include "tools/report/evaluation.h"

namespace hdr::report {

struct ReportInput {
  std::string title;                                       // "cnn_bn: training run"
  std::vector<std::pair<std::string, std::string>> facts;  // the run table: config, device, wall time...
  std::string config_text;                                 // the INI the model was trained with
  std::vector<EpochRecord> history;                        // empty (hdr eval): no curves
  int best_epoch = 0, early_stop_epoch = 0;                // curve markers; 0: none
  const Evaluation* evaluation = nullptr;                  // on `images`, with probabilities
  const LabelledImages* images = nullptr;
};

// Writes the page and the charts into dir (created if missing); returns the files written.
std::vector<std::filesystem::path> write_report(const std::filesystem::path& dir, const ReportInput& input);

// The accuracy and loss charts of a history (used by the report and by `hdr compare`).
struct CurveSet {
  std::string label;  // the run's name in legends ("" for a single run)
  std::vector<EpochRecord> history;
};
std::string accuracy_chart(const std::vector<CurveSet>& runs, int best_epoch = 0, int early_stop_epoch = 0);
std::string loss_chart(const std::vector<CurveSet>& runs, int best_epoch = 0, int early_stop_epoch = 0);

// The page scaffolding shared by report.html and hdr compare's page.
std::string html_page(const std::string& title, const std::string& body);
std::string facts_table(const std::vector<std::pair<std::string, std::string>>& facts);

}  // namespace hdr::report

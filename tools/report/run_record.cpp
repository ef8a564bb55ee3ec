#include "tools/report/run_record.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/core/atomic_file.h"
#include "engine/core/errors.h"
#include "engine/core/thousands.h"
#include "engine/io/run_checkpoint.h"
#include "tools/report/report_page.h"
#include "tools/report/svg.h"

namespace hdr::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw InputError(fmt::format("{}: missing (is this the folder of an hdr train run?)", path.string()));
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw InputError(fmt::format("{}: cannot be read", path.string()));
  try {
    return json::parse(text.str());
  } catch (const json::parse_error& e) {
    throw InputError(fmt::format("{}: not valid JSON (at byte {})", path.string(), e.byte));
  }
}

// obj[key] as T, or an InputError naming the file, the key and the type expected.
template <typename T>
T field(const json& obj, const char* key, const fs::path& file, const char* type) {
  if (!obj.is_object() || !obj.contains(key))
    throw InputError(fmt::format("{}: the field \"{}\" is missing", file.string(), key));
  const json& v = obj.at(key);
  const bool ok = std::is_same_v<T, std::string> ? v.is_string()
                  : std::is_same_v<T, bool>      ? v.is_boolean()
                  : std::is_integral_v<T>        ? v.is_number_integer()
                                                 : v.is_number();
  if (!ok) throw InputError(fmt::format("{}: the field \"{}\" is not {}", file.string(), key, type));
  return v.get<T>();
}

// history.json as hdr train writes it (engine/io/run_checkpoint.h: the one JSON form of epochs).
std::vector<EpochRecord> read_history(const fs::path& file) {
  const json history = read_json_file(file);
  if (!history.is_array() || history.empty())
    throw InputError(fmt::format("{}: expected a non-empty array of epoch records", file.string()));
  return parse_history(history, file.string());
}

RunRecord read_record(const fs::path& file) {
  const json j = read_json_file(file);
  RunRecord r;
  r.model = field<std::string>(j, "model", file, "a string");
  r.config_source = field<std::string>(j, "config_source", file, "a string");
  r.device = field<std::string>(j, "device", file, "a string");
  r.hdr_version = field<std::string>(j, "hdr_version", file, "a string");
  r.parameters = field<int64_t>(j, "parameters", file, "an integer");
  r.epochs = field<int>(j, "epochs", file, "an integer");
  r.best_epoch = field<int>(j, "best_epoch", file, "an integer");
  r.stopped_early = field<bool>(j, "stopped_early", file, "true or false");
  r.wall_seconds = field<double>(j, "wall_seconds", file, "a number");
  r.images_per_second = field<double>(j, "images_per_second", file, "a number");
  const json test = j.contains("test") ? j.at("test") : json();
  r.test_accuracy = field<double>(test, "accuracy", file, "a number");
  r.test_loss = field<double>(test, "loss", file, "a number");
  if (j.contains("overrides")) {
    if (!j.at("overrides").is_array()) throw InputError(fmt::format("{}: \"overrides\" is not a list", file.string()));
    for (const json& o : j.at("overrides")) {
      if (!o.is_string()) throw InputError(fmt::format("{}: \"overrides\" holds a non-string", file.string()));
      r.overrides.push_back(o.get<std::string>());
    }
  }
  return r;
}

// Run labels for legends: the folder names, or the whole paths when two folders share a name.
std::vector<std::string> run_labels(const std::vector<RunFolder>& runs) {
  std::vector<std::string> names;
  for (const RunFolder& r : runs) names.push_back(fs::path(r.dir).lexically_normal().filename().string());
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i].empty() || std::count(names.begin(), names.end(), names[i]) > 1) {
      names.clear();
      for (const RunFolder& r : runs) names.push_back(r.dir.string());
      break;
    }
  return names;
}

}  // namespace

void write_run_record(const fs::path& dir, const RunRecord& r) {
  const json j = {{"model", r.model},
                  {"config_source", r.config_source},
                  {"overrides", r.overrides},
                  {"device", r.device},
                  {"hdr_version", r.hdr_version},
                  {"parameters", r.parameters},
                  {"epochs", r.epochs},
                  {"best_epoch", r.best_epoch},
                  {"stopped_early", r.stopped_early},
                  {"wall_seconds", r.wall_seconds},
                  {"images_per_second", r.images_per_second},
                  {"test", {{"accuracy", r.test_accuracy}, {"loss", r.test_loss}}}};
  const std::string text = j.dump(2) + "\n";
  write_file_atomically(dir / "run.json", std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                        Durability::kAtomicOnly);
}

RunFolder read_run_folder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw InputError(fmt::format("{}: no such folder", dir.string()));
  if (!fs::is_directory(dir, ec)) throw InputError(fmt::format("{}: not a folder", dir.string()));
  return RunFolder{dir, read_record(dir / "run.json"), read_history(dir / "history.json")};
}

std::string comparison_page(const std::vector<RunFolder>& runs) {
  const std::vector<std::string> labels = run_labels(runs);
  std::vector<CurveSet> curves;
  std::string rows;
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& r = runs[i].run;
    curves.push_back({labels[i], runs[i].history});
    rows += fmt::format(
        "<tr><th>{}</th><td>{}</td><td>{:.2f}%</td><td>{:.4f}</td><td>{}</td><td>{}{}</td><td>{:.1f} s</td>"
        "<td>{}</td><td>{}</td></tr>\n",
        xml_escape(labels[i]), xml_escape(r.model), 100 * r.test_accuracy, r.test_loss, with_thousands(r.parameters),
        r.epochs, r.stopped_early ? " (early stop)" : "", r.wall_seconds,
        with_thousands(int64_t(std::llround(r.images_per_second))), xml_escape(r.device));
  }
  const std::string body =
      "<section id=\"curves\">\n<h2>Curves (validation solid, training dashed)</h2>\n<figure>\n" +
      accuracy_chart(curves) + "</figure>\n<figure>\n" + loss_chart(curves) +
      "</figure>\n</section>\n<section id=\"runs\">\n<h2>Runs</h2>\n<table id=\"runs-table\"><thead><tr><th>run</th>"
      "<th>model</th><th>test accuracy</th><th>test loss</th><th>parameters</th><th>epochs</th><th>wall time</th>"
      "<th>images/s</th><th>device</th></tr></thead><tbody>\n" +
      rows + "</tbody></table>\n</section>\n";
  return html_page(fmt::format("Comparison of {} runs", runs.size()), body);
}

}  // namespace hdr::report

// A run's checkpoint metadata, written and read back with every field checked; the layout is in
// run_checkpoint.h.
#include "engine/io/run_checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "engine/core/errors.h"

namespace hdr {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---- writing

// A number that may be infinite: JSON has no infinity, so those are strings.
json exact(double x) {
  if (std::isfinite(x)) return x;
  if (std::isnan(x)) return "nan";
  return x > 0 ? "inf" : "-inf";
}

json state_json(const TrainingState& s) {
  return {{"version", kResumeVersion},
          {"epoch", s.epoch},
          {"batch", s.batch},
          {"step", s.step},
          {"loss_sum", exact(s.loss_sum)},
          {"correct", exact(s.correct)},
          {"epoch_seconds", s.epoch_seconds},
          {"run_seconds", s.run_seconds},
          {"plateau",
           {{"lr", exact(s.plateau.lr)},
            {"best", exact(s.plateau.best)},
            {"wait", s.plateau.wait},
            {"cooldown_left", s.plateau.cooldown_left}}},
          {"early_stopping",
           {{"best", exact(s.stopping.best)},
            {"best_epoch", s.stopping.best_epoch},
            {"wait", s.stopping.wait},
            {"improved", s.stopping.improved},
            {"stop", s.stopping.stop}}},
          {"best_value", exact(s.best_value)},
          {"best_epoch", s.best_epoch},
          {"ranks", s.ranks}};
}

// ---- reading: every access checked, every failure an InputError naming file and field

class Reader {
 public:
  // `context` goes between the file's name and the field's in messages.
  explicit Reader(const std::string& source, std::string context = "checkpoint metadata: ")
      : source_(source), context_(std::move(context)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw InputError(fmt::format("{}: {}'{}' {}", source_, context_, field, what));
  }
  // The member `key` of object `o` (named `path` in messages), or nullptr when absent.
  const json* find(const json& o, const std::string& key) const {
    const auto it = o.find(key);
    return it == o.end() ? nullptr : &*it;
  }
  const json& need(const json& o, const std::string& key, const std::string& path) const {
    const json* v = find(o, key);
    if (!v) fail(path, "is missing");
    return *v;
  }
  const json& object(const json& o, const std::string& key, const std::string& path) const {
    const json& v = need(o, key, path);
    if (!v.is_object()) fail(path, "is not an object");
    return v;
  }
  double number(const json& v, const std::string& path) const {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      const std::string s = v.get<std::string>();
      if (s == "inf") return std::numeric_limits<double>::infinity();
      if (s == "-inf") return -std::numeric_limits<double>::infinity();
      if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    }
    fail(path, "is not a number");
  }
  double number(const json& o, const std::string& key, const std::string& path) const {
    return number(need(o, key, path), path);
  }
  // A number that must be finite and at least `lo` (or above it, with `above`).
  double finite(const json& o, const std::string& key, const std::string& path, double lo, bool above = false) const {
    const double x = number(o, key, path);
    if (!std::isfinite(x) || x < lo || (above && x == lo))
      fail(path, fmt::format("is {}, not a finite number {} {}", exact(x).dump(), above ? "above" : "of at least", lo));
    return x;
  }
  int64_t integer(const json& o, const std::string& key, const std::string& path, int64_t lo, int64_t hi) const {
    const json& v = need(o, key, path);
    if (!v.is_number_integer()) fail(path, "is not an integer");
    // An unsigned value above INT64_MAX reads as negative here, and is refused by the range.
    const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())
                          ? -1
                          : v.get<int64_t>();
    if (x < lo || x > hi) fail(path, fmt::format("is {}, outside {}..{}", v.dump(), lo, hi));
    return x;
  }
  int small(const json& o, const std::string& key, const std::string& path) const {
    return int(integer(o, key, path, 0, std::numeric_limits<int>::max()));
  }
  bool boolean(const json& o, const std::string& key, const std::string& path) const {
    const json& v = need(o, key, path);
    if (!v.is_boolean()) fail(path, "is not true or false");
    return v.get<bool>();
  }
  std::string string(const json& o, const std::string& key, const std::string& path) const {
    const json* v = find(o, key);
    if (!v) return {};
    if (!v->is_string()) fail(path, "is not a string");
    return v->get<std::string>();
  }

 private:
  const std::string& source_;
  std::string context_;
};

std::vector<EpochRecord> parse_history(const Reader& in, const json& h) {
  std::vector<EpochRecord> out;
  if (!h.is_array()) in.fail("history", "is not an array");
  for (size_t i = 0; i < h.size(); ++i) {
    const std::string path = fmt::format("history[{}]", i);
    const json& e = h[i];
    if (!e.is_object()) in.fail(path, "is not an object");
    EpochRecord r;
    r.epoch = in.small(e, "epoch", path + ".epoch");
    r.loss = in.number(e, "loss", path + ".loss");
    r.accuracy = in.number(e, "accuracy", path + ".accuracy");
    r.val_loss = in.number(e, "val_loss", path + ".val_loss");
    r.val_accuracy = in.number(e, "val_accuracy", path + ".val_accuracy");
    r.lr = in.number(e, "lr", path + ".lr");
    r.seconds = in.number(e, "seconds", path + ".seconds");
    r.images_per_second = in.number(e, "images_per_second", path + ".images_per_second");
    if (r.epoch != int(i) + 1) in.fail(path + ".epoch", fmt::format("is {}, expected {}", r.epoch, i + 1));
    out.push_back(r);
  }
  return out;
}

std::vector<EpochRecord> read_history(const Reader& in, const json& meta) {
  const json* h = in.find(meta, "history");
  return h ? parse_history(in, *h) : std::vector<EpochRecord>{};
}

TrainingState read_state(const Reader& in, const json& meta) {
  const json& r = in.object(meta, "resume", "resume");
  const int64_t version = in.integer(r, "version", "resume.version", 0, std::numeric_limits<int>::max());
  if (version > kResumeVersion)
    in.fail("resume.version", fmt::format("is {}: the run was saved by a newer hdr (this one reads version {})",
                                          version, kResumeVersion));
  if (version < 1) in.fail("resume.version", fmt::format("is {}, not a valid version", version));
  TrainingState s;
  s.epoch = in.small(r, "epoch", "resume.epoch");
  s.batch = in.small(r, "batch", "resume.batch");
  s.step = in.integer(r, "step", "resume.step", 0, std::numeric_limits<int64_t>::max());
  s.loss_sum = in.number(r, "loss_sum", "resume.loss_sum");
  s.correct = in.number(r, "correct", "resume.correct");
  // Times and the rate go into durations and steps: a non-finite one would be undefined there.
  s.epoch_seconds = in.finite(r, "epoch_seconds", "resume.epoch_seconds", 0);
  s.run_seconds = in.finite(r, "run_seconds", "resume.run_seconds", 0);
  const json& p = in.object(r, "plateau", "resume.plateau");
  s.plateau.lr = float(in.finite(p, "lr", "resume.plateau.lr", 0, true));
  if (!std::isfinite(s.plateau.lr) || s.plateau.lr <= 0)  // a double beyond float's range or below its least
    in.fail("resume.plateau.lr", "is not a learning rate a float can hold");
  s.plateau.best = float(in.number(p, "best", "resume.plateau.best"));
  s.plateau.wait = in.small(p, "wait", "resume.plateau.wait");
  s.plateau.cooldown_left = in.small(p, "cooldown_left", "resume.plateau.cooldown_left");
  const json& e = in.object(r, "early_stopping", "resume.early_stopping");
  s.stopping.best = float(in.number(e, "best", "resume.early_stopping.best"));
  s.stopping.best_epoch = in.small(e, "best_epoch", "resume.early_stopping.best_epoch");
  s.stopping.wait = in.small(e, "wait", "resume.early_stopping.wait");
  s.stopping.improved = in.boolean(e, "improved", "resume.early_stopping.improved");
  s.stopping.stop = in.boolean(e, "stop", "resume.early_stopping.stop");
  s.best_value = in.number(r, "best_value", "resume.best_value");
  s.best_epoch = in.small(r, "best_epoch", "resume.best_epoch");
  if (in.find(r, "ranks")) s.ranks = int(in.integer(r, "ranks", "resume.ranks", 1, std::numeric_limits<int>::max()));
  s.history = read_history(in, meta);
  if (size_t(s.epoch) != s.history.size())
    in.fail("resume.epoch", fmt::format("is {} but the history holds {} epochs", s.epoch, s.history.size()));
  if (s.best_epoch > s.epoch) in.fail("resume.best_epoch", fmt::format("is {}, after epoch {}", s.best_epoch, s.epoch));
  if (!std::isfinite(s.loss_sum) || !std::isfinite(s.correct)) in.fail("resume.loss_sum", "is not finite");
  return s;
}

// "a, b and c"
std::string listing(const std::vector<std::string>& items) {
  if (items.size() < 2) return items.empty() ? "" : items[0];
  std::vector<std::string> head(items.begin(), items.end() - 1);
  return fmt::format("{} and {}", fmt::join(head, ", "), items.back());
}

// The mid-epoch position of a run rests on these: changed, the rest of the epoch would be other
// batches than the ones the run was taking.
constexpr const char* kEpochShapingKeys[] = {"train.batch_size", "train.seed", "data.dir", "data.train_limit",
                                             "data.validation_split"};

}  // namespace

json history_json(const std::vector<EpochRecord>& history) {
  json out = json::array();
  for (const EpochRecord& r : history)
    out.push_back({{"epoch", r.epoch},
                   {"loss", exact(r.loss)},
                   {"accuracy", exact(r.accuracy)},
                   {"val_loss", exact(r.val_loss)},
                   {"val_accuracy", exact(r.val_accuracy)},
                   {"lr", exact(r.lr)},
                   {"seconds", exact(r.seconds)},
                   {"images_per_second", exact(r.images_per_second)}});
  return out;
}

std::vector<EpochRecord> parse_history(const json& history, const std::string& source) {
  return parse_history(Reader(source, ""), history);
}

std::string describe_position(int epochs_done, int batches_done, int epochs, int steps_per_epoch) {
  const auto of = [](int total) { return total > 0 ? fmt::format(" of {}", total) : std::string(); };
  if (batches_done == 0) return fmt::format("after epoch {}{}", epochs_done, of(epochs));
  return fmt::format("in epoch {}{}, after batch {}{}", epochs_done + 1, of(epochs), batches_done, of(steps_per_epoch));
}

std::string run_metadata_json(const RunMetadata& m, const EvalResult* test) {
  // JSON text is UTF-8; nlohmann would throw its own type_error at dump() otherwise.
  if (!is_valid_utf8(m.config_source))
    throw InputError("the config file's name is not valid UTF-8 text: it cannot be stored in a checkpoint");
  for (const std::string& arg : m.overrides)
    if (!is_valid_utf8(arg))
      throw InputError(fmt::format("--set {}: not valid UTF-8 text, it cannot be stored in a checkpoint",
                                   is_valid_utf8(override_key(arg)) ? override_key(arg) : "argument"));
  json meta = {
      {"hdr_version", m.hdr_version}, {"git_revision", m.git_revision},       {"config_source", m.config_source},
      {"overrides", m.overrides},     {"resolved_config", m.resolved_config}, {"backend", m.backend},
      {"epochs_run", m.epochs_run},   {"best_epoch", m.best_epoch},           {"history", history_json(m.history)}};
  if (test)
    meta["test"] = {{"count", test->count},
                    {"loss", exact(test->loss)},
                    {"accuracy", test->accuracy},
                    {"confusion", test->confusion}};
  if (m.resume) meta["resume"] = state_json(*m.resume);
  return meta.dump(1);
}

RunMetadata parse_run_metadata(const std::string& text, const std::string& source) {
  const Reader in(source);
  if (text.empty()) return {};  // a checkpoint may carry no metadata at all
  const json meta = json::parse(text, nullptr, false);
  if (meta.is_discarded() || !meta.is_object())
    throw InputError(fmt::format("{}: checkpoint metadata is not a JSON object", source));
  RunMetadata m;
  m.hdr_version = in.string(meta, "hdr_version", "hdr_version");
  m.git_revision = in.string(meta, "git_revision", "git_revision");
  m.backend = in.string(meta, "backend", "backend");
  m.config_source = in.string(meta, "config_source", "config_source");
  m.resolved_config = in.string(meta, "resolved_config", "resolved_config");
  if (const json* o = in.find(meta, "overrides")) {
    if (!o->is_array()) in.fail("overrides", "is not an array");
    for (const json& arg : *o) {
      if (!arg.is_string()) in.fail("overrides", "holds something other than strings");
      m.overrides.push_back(arg.get<std::string>());
    }
  }
  if (in.find(meta, "epochs_run")) m.epochs_run = in.small(meta, "epochs_run", "epochs_run");
  if (in.find(meta, "best_epoch")) m.best_epoch = in.small(meta, "best_epoch", "best_epoch");
  m.history = read_history(in, meta);
  if (in.find(meta, "test")) {
    const json& t = in.object(meta, "test", "test");
    TestSummary s;
    s.count = in.small(t, "count", "test.count");
    s.loss = in.number(t, "loss", "test.loss");
    s.accuracy = in.number(t, "accuracy", "test.accuracy");
    if (!(s.accuracy >= 0.0 && s.accuracy <= 1.0)) in.fail("test.accuracy", "is not in [0, 1]");
    m.test = s;
  }
  if (in.find(meta, "resume")) m.resume = read_state(in, meta);
  return m;
}

Config checkpoint_config(const Checkpoint& checkpoint, const RunMetadata& metadata, const std::string& source) {
  if (metadata.resolved_config.empty())  // written before hdr stored resolved configs
    return parse_config(checkpoint.config_text, source + " (embedded config)", metadata.overrides);
  Config c;
  try {
    c = parse_config(metadata.resolved_config, source + " (resolved config)");
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: its config does not read with this hdr (written by hdr {}): {}", source,
                                 shown_config_value(metadata.hdr_version), e.what()));
  }
  c.source = metadata.config_source.empty() ? source : metadata.config_source;
  c.text = checkpoint.config_text;
  c.overrides = metadata.overrides;
  return c;
}

ResumePoint read_resume_point(const fs::path& run_dir_or_file) {
  std::error_code ec;
  ResumePoint p;
  p.file = fs::is_directory(run_dir_or_file, ec) ? run_dir_or_file / "model.hdr" : run_dir_or_file;
  const std::string name = p.file.string();
  p.checkpoint = load_checkpoint(p.file);
  p.metadata = parse_run_metadata(p.checkpoint.metadata_json, name);
  if (!p.metadata.resume) {
    // hdr train writes weights-only checkpoints too: best.hdr, and model.hdr once the run is done.
    const std::string what = p.metadata.test
                                 ? fmt::format("the run finished after {} epochs; its final model holds weights only",
                                               p.metadata.epochs_run)
                             : !p.metadata.hdr_version.empty()
                                 ? "it holds weights only, like a run's best.hdr or a finished run's final model"
                                 : "it was not written by hdr train, or by an hdr too old to resume runs";
    throw InputError(fmt::format(
        "{}: holds no run under way to resume ({}): resume from a run's model.hdr, written while it trains and "
        "when it is interrupted",
        name, what));
  }
  p.config = checkpoint_config(p.checkpoint, p.metadata, name);
  return p;
}

Config resume_config(const ResumePoint& point, const Config* given, const std::vector<std::string>& overrides,
                     std::vector<ConfigChange>& changes) {
  const std::string name = point.file.string();
  std::set<std::string> deliberate;
  for (const std::string& arg : overrides) deliberate.insert(override_key(arg));

  // The checkpoint's config with the overrides: its resolved text, so no default of this hdr enters.
  Config c = parse_config(resolved_config_text(point.config), name + " (its config)", overrides);
  if (given) {
    std::vector<std::string> refused;
    for (const ConfigChange& d : config_changes(point.config, *given))
      if (!deliberate.count(d.key))
        refused.push_back(fmt::format("{} (run: {}, {}: {})", d.key, shown_config_value(d.before), given->source,
                                      shown_config_value(d.after)));
    if (!refused.empty())
      throw InputError(fmt::format(
          "{} differs from the config of the run in {} ({}): resume without a config file to continue the run as "
          "it was, or change a key deliberately with --set section.key=value",
          given->source, name, listing(refused)));
  }
  changes = config_changes(point.config, c);
  const TrainingState& s = *point.metadata.resume;
  if (s.batch > 0) {
    std::vector<std::string> shaping;
    for (const ConfigChange& d : changes)
      if (std::find(std::begin(kEpochShapingKeys), std::end(kEpochShapingKeys), d.key) != std::end(kEpochShapingKeys))
        shaping.push_back(d.key);
    if (!shaping.empty())
      throw InputError(fmt::format(
          "{}: the run stopped {}, and --set changes {}: they change the epoch's batches, so the epoch cannot "
          "continue where it stopped; change them when resuming from an epoch boundary (a checkpoint written "
          "after an epoch)",
          name, describe_position(s.epoch, s.batch), listing(shaping)));
  }
  c.source = point.config.source;
  c.text = point.config.text;
  c.overrides = point.config.overrides;
  c.overrides.insert(c.overrides.end(), overrides.begin(), overrides.end());
  return c;
}

}  // namespace hdr

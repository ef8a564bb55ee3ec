// The run configuration, in three passes so that every message can name file, line, section
// and key:
//   1. collect: inih splits the text into [section] headers and key = value lines. It reads
//      through our own line reader, which counts lines (this inih has no INI_HANDLER_LINENO)
//      and notes section headers, so empty sections and duplicate sections are seen too.
//   2. overrides: each --set section.key=value replaces or adds one entry, which then carries
//      "--set <arg>" instead of "file:line" as its origin.
//   3. interpret: a schema per section (and per layer type) turns entries into Config; unknown
//      keys, malformed or out-of-range values and missing required keys are InputErrors.
// inih is built with a 200-byte line buffer and no line splitting: a longer line would be
// read as two, so such lines are rejected before parsing.
#include "engine/io/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <ini.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <exception>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "engine/core/errors.h"
#include "engine/io/default_config.h"

namespace hdr {
namespace {

constexpr size_t kMaxLineChars = 198;  // inih's 200-byte buffer holds the line, '\n' and NUL
constexpr size_t kMaxLayerName = 40;   // "layer." + name stays under inih's 50-byte section buffer
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;

// One key = value line, or one --set override.
struct Entry {
  std::string key, value;
  std::string where;  // "file:line" or "--set arg": the start of every message about it
};

struct Section {
  std::string name;
  int line = 0;       // of the header; 0 for a section only named by --set
  std::string where;  // of the header, or the --set argument that named it
  std::vector<Entry> entries;
};

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---------------------------------------------------------------- pass 1: collect

struct Collector {
  std::string_view text;
  std::string source;
  size_t pos = 0;
  int line = 0;                   // of the line inih is handling now
  std::string_view current;       // its text, without the newline
  bool key_since_header = false;  // inih reads an indented line after a key as a continuation
  std::vector<Section> sections;
  int error_line = 0;  // first problem found while collecting (inih's own errors come separately)
  std::string error;
  std::exception_ptr failure;  // nothing may be thrown through inih's C frames

  std::string where() const { return fmt::format("{}:{}", source, line); }
  void fail(std::string message) {
    if (error_line == 0) {
      error_line = line;
      error = std::move(message);
    }
  }
};

// A line that inih will read as a section header: '[' first after blanks, unless it is
// indented below a key (then inih reads it as a continuation of that key's value).
void note_header(Collector& c) {
  std::string_view l = c.current;
  if (c.line == 1 && l.starts_with("\xEF\xBB\xBF")) l.remove_prefix(3);  // UTF-8 BOM
  const std::string_view t = trim(l);
  const bool indented = !l.empty() && t.data() != l.data();
  if (!t.starts_with('[') || (c.key_since_header && indented)) return;
  const size_t close = t.find(']');
  if (close == std::string_view::npos) return;  // inih reports the syntax error
  std::string name(t.substr(1, close - 1));
  for (const Section& s : c.sections) {
    if (s.name == name) {
      c.fail(fmt::format("{}: duplicate section [{}] (first at {})", c.where(), name, s.where));
      break;
    }
  }
  c.sections.push_back({std::move(name), c.line, c.where(), {}});
  c.key_since_header = false;
}

// inih's reader (fgets semantics). Lines are never longer than the buffer (checked before).
char* read_line(char* buffer, int size, void* stream) {
  auto& c = *static_cast<Collector*>(stream);
  if (c.pos >= c.text.size() || size < 2) return nullptr;
  const size_t end = std::min(c.text.find('\n', c.pos), c.text.size() - 1) + 1;
  const size_t n = std::min(end - c.pos, static_cast<size_t>(size - 1));
  std::copy_n(c.text.data() + c.pos, n, buffer);
  buffer[n] = '\0';
  c.current = c.text.substr(c.pos, n);
  if (c.current.ends_with('\n')) c.current.remove_suffix(1);
  c.pos += n;
  ++c.line;
  try {
    note_header(c);
  } catch (...) {
    c.failure = std::current_exception();
    return nullptr;
  }
  return buffer;
}

int on_key(void* user, const char* /*section*/, const char* name, const char* value) {
  auto& c = *static_cast<Collector*>(user);
  try {
    if (c.sections.empty()) {
      c.fail(fmt::format("{}: key '{}' is outside any section", c.where(), name));
      return 1;
    }
    Section& s = c.sections.back();
    for (const Entry& e : s.entries) {
      if (e.key != name) continue;
      // inih reads any indented line below a key as more of that key's value.
      const bool continuation = !c.current.empty() && std::isspace(static_cast<unsigned char>(c.current[0]));
      if (continuation)
        c.fail(fmt::format("{}: [{}] {}: indented line read as a continuation of '{}' (do not indent keys; "
                           "multi-line values are not supported)",
                           c.where(), s.name, name, name));
      else
        c.fail(fmt::format("{}: [{}] duplicate key '{}' (first set at {})", c.where(), s.name, name, e.where));
      return 1;
    }
    s.entries.push_back({name, value, c.where()});
    c.key_since_header = true;
  } catch (...) {
    c.failure = std::current_exception();
    return 0;
  }
  return 1;
}

// Lines inih cannot read as one line, and bytes that would cut a line short.
void check_lines(std::string_view text, const std::string& source) {
  int line = 1;
  for (size_t start = 0; start < text.size(); ++line) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view l = text.substr(start, end - start);
    if (l.find('\0') != std::string_view::npos)
      throw InputError(fmt::format("{}:{}: contains a NUL byte (not a text file?)", source, line));
    if (l.size() > kMaxLineChars)
      throw InputError(
          fmt::format("{}:{}: line is {} characters long, the limit is {}", source, line, l.size(), kMaxLineChars));
    start = end + 1;
  }
}

std::string_view line_of(std::string_view text, int line) {
  size_t start = 0;
  for (int i = 1; i < line && start < text.size(); ++i) start = std::min(text.find('\n', start), text.size()) + 1;
  if (start >= text.size()) return {};
  return trim(text.substr(start, std::min(text.find('\n', start), text.size()) - start));
}

std::vector<Section> collect(const std::string& text, const std::string& source) {
  check_lines(text, source);
  Collector c;
  c.text = text;
  c.source = source;
  const int syntax_line = ini_parse_stream(read_line, &c, on_key, &c);
  if (c.failure) std::rethrow_exception(c.failure);
  if (syntax_line < 0) throw std::runtime_error(fmt::format("{}: inih failed ({})", source, syntax_line));
  if (syntax_line > 0 && (c.error_line == 0 || syntax_line < c.error_line))
    throw InputError(fmt::format("{}:{}: syntax error: expected [section] or key = value, got '{}'", source,
                                 syntax_line, line_of(text, syntax_line)));
  if (c.error_line > 0) throw InputError(c.error);
  return std::move(c.sections);
}

// ---------------------------------------------------------------- pass 3 helpers: values

// An interval for a float key; an infinite bound is open.
struct Range {
  double lo, hi;
  bool lo_open, hi_open;
};
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr Range kPositive{0, kInf, true, true};
constexpr Range kNonNegative{0, kInf, false, true};
constexpr Range kFraction{0, 1, false, true};     // rates, fractions, betas: [0, 1)
constexpr Range kOpenFraction{0, 1, true, true};  // multipliers that must shrink: (0, 1)
constexpr Range kAnyFinite{-kInf, kInf, true, true};

// What a key's value may be. parse_int and parse_float check a value against its key's Accepts,
// and config_reference() prints the same object, so the reference cannot drift from the parser.
struct Accepts {
  enum Kind { kInt, kUnsigned, kFloat, kBool, kChoice, kText, kShape };
  Kind kind;
  Range range{};                       // kInt: whole numbers lo..hi; kFloat: the interval
  std::string (*choices)() = nullptr;  // kChoice: the names, for the reference
};
constexpr Accepts integer(int lo, int hi) { return {Accepts::kInt, {double(lo), double(hi), false, false}}; }
constexpr Accepts number(Range r) { return {Accepts::kFloat, r}; }
constexpr Accepts one_of(std::string (*names)()) { return {Accepts::kChoice, {}, names}; }
constexpr Accepts kUnsigned{Accepts::kUnsigned}, kBoolean{Accepts::kBool}, kText{Accepts::kText},
    kShape{Accepts::kShape};

// The key being interpreted, for messages: "<where>: [section] key: ...".
struct Field {
  const Entry& entry;
  std::string_view section;
  const Accepts* accepts = nullptr;  // the key's rule; set where a value is parsed by it
  const std::string& value() const { return entry.value; }
  [[noreturn]] void fail(std::string_view what) const {
    throw InputError(fmt::format("{}: [{}] {}: {}", entry.where, section, entry.key, what));
  }
};

int parse_int(const Field& f) {
  const int lo = static_cast<int>(f.accepts->range.lo), hi = static_cast<int>(f.accepts->range.hi);
  const std::string& v = f.value();
  long long x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec == std::errc::result_out_of_range) f.fail(fmt::format("{} is out of range ({}..{})", v, lo, hi));
  if (ec != std::errc() || end != v.data() + v.size()) f.fail(fmt::format("'{}' is not an integer", v));
  if (x < lo || x > hi) f.fail(fmt::format("{} is out of range ({}..{})", v, lo, hi));
  return static_cast<int>(x);
}

uint64_t parse_u64(const Field& f) {
  const std::string& v = f.value();
  uint64_t x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec == std::errc::result_out_of_range) f.fail(fmt::format("{} does not fit in 64 bits", v));
  if (ec != std::errc() || end != v.data() + v.size()) f.fail(fmt::format("'{}' is not a non-negative integer", v));
  return x;
}

float parse_float(const Field& f) {
  const Range& r = f.accepts->range;
  const std::string& v = f.value();
  float x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec == std::errc::result_out_of_range) f.fail(fmt::format("{} is out of the range of a float", v));
  if (ec != std::errc() || end != v.data() + v.size()) f.fail(fmt::format("'{}' is not a number", v));
  if (!std::isfinite(x)) f.fail(fmt::format("'{}' is not a finite number", v));
  const bool above = r.lo_open ? x > r.lo : x >= r.lo;
  const bool below = r.hi_open ? x < r.hi : x <= r.hi;
  if (!above || !below)
    f.fail(fmt::format("{} is out of range {}{}, {}{}", v, r.lo_open ? '(' : '[', r.lo, r.hi, r.hi_open ? ')' : ']'));
  return x;
}

bool parse_bool(const Field& f) {
  const std::string v = lower(f.value());
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  f.fail(fmt::format("'{}' is not a boolean (true/false, yes/no, 1/0, on/off)", f.value()));
}

template <class T>
struct Choice {
  std::string_view name;
  T value;
};

// "adam, adamw, sgd": what messages and the reference list.
template <class T>
std::string names_of(std::span<const Choice<T>> choices) {
  std::string names;
  for (const auto& c : choices) names += fmt::format("{}{}", names.empty() ? "" : ", ", c.name);
  return names;
}

template <class T>
T parse_enum(const Field& f, std::span<const Choice<T>> choices) {
  const std::string v = lower(f.value());
  for (const auto& c : choices)
    if (c.name == v) return c.value;
  f.fail(fmt::format("'{}' is not one of {}", f.value(), names_of(choices)));
}

std::string parse_string(const Field& f) {
  if (f.value().empty()) f.fail("must not be empty");
  return f.value();
}

// [model] input = HxWxC
void parse_input(const Field& f, ModelSpec& m) {
  const std::string v = lower(f.value());
  int dims[3] = {0, 0, 0};
  const char* p = v.data();
  const char* const end = v.data() + v.size();
  for (int i = 0; i < 3; ++i) {
    const auto [next, ec] = std::from_chars(p, end, dims[i]);
    const bool separator_ok = i < 2 ? (next != end && *next == 'x') : next == end;
    if (ec != std::errc() || !separator_ok) f.fail(fmt::format("'{}' is not HxWxC (e.g. 28x28x1)", f.value()));
    p = next + 1;
  }
  if (dims[0] < 1 || dims[0] > 4096 || dims[1] < 1 || dims[1] > 4096 || dims[2] < 1 || dims[2] > 64)
    f.fail(fmt::format("{} is out of range (H and W 1..4096, C 1..64)", f.value()));
  m.input_h = dims[0];
  m.input_w = dims[1];
  m.input_c = dims[2];
}

constexpr Choice<OptimizerKind> kOptimizers[] = {
    {"adam", OptimizerKind::kAdam}, {"adamw", OptimizerKind::kAdamW}, {"sgd", OptimizerKind::kSgd}};
constexpr Choice<ScheduleKind> kSchedules[] = {{"constant", ScheduleKind::kConstant},
                                               {"plateau", ScheduleKind::kPlateau},
                                               {"step", ScheduleKind::kStep},
                                               {"cosine", ScheduleKind::kCosine},
                                               {"onecycle", ScheduleKind::kOneCycle}};
constexpr Choice<std::string_view> kMonitors[] = {
    {"val_loss", "val_loss"}, {"val_accuracy", "val_accuracy"}, {"loss", "loss"}, {"accuracy", "accuracy"}};
constexpr Choice<LayerType> kLayerTypes[] = {
    {"conv2d", LayerType::kConv2D},   {"dense", LayerType::kDense},     {"batchnorm", LayerType::kBatchNorm},
    {"maxpool", LayerType::kMaxPool}, {"dropout", LayerType::kDropout}, {"flatten", LayerType::kFlatten},
    {"relu", LayerType::kRelu}};
constexpr Choice<Activation> kActivationsHidden[] = {{"none", Activation::kNone}, {"relu", Activation::kRelu}};
constexpr Choice<Activation> kActivationsDense[] = {
    {"none", Activation::kNone}, {"relu", Activation::kRelu}, {"softmax", Activation::kSoftmax}};
constexpr Choice<Initializer> kInitializers[] = {{"glorot_uniform", Initializer::kGlorotUniform},
                                                 {"he_normal", Initializer::kHeNormal}};
constexpr Choice<bool> kPaddings[] = {{"valid", false}, {"same", true}};

std::string monitor(const Field& f) { return std::string(parse_enum<std::string_view>(f, kMonitors)); }

// ---------------------------------------------------------------- values back to text

// The inverse of the parse_* functions: text that parses back to exactly the value (floats in
// fmt's shortest round-trip form), for the resolved config a checkpoint stores.
std::string text_of(int x) { return std::to_string(x); }
std::string text_of(uint64_t x) { return std::to_string(x); }
std::string text_of(float x) { return fmt::format("{}", x); }
std::string text_of(bool x) { return x ? "true" : "false"; }

template <class T>
std::string name_of(T value, std::span<const Choice<T>> choices) {
  for (const auto& c : choices)
    if (c.value == value) return std::string(c.name);
  throw std::logic_error("config: a value with no name in its table");
}

// ---------------------------------------------------------------- pass 3: the schema

// One key: what it accepts, what it does (both for the reference, docs/config.md), how its text
// sets the Config, and how the Config's value reads back as text.
struct KeyRule {
  std::string_view key;
  Accepts accepts;
  std::string_view help;
  void (*apply)(const Field&, Config&);
  std::string (*value)(const Config&);
};

constexpr KeyRule kModelKeys[] = {
    {"name", kText, "The model's name; a run's folder is runs/<name> unless --out says otherwise",
     [](const Field& f, Config& c) { c.model.name = parse_string(f); }, [](const Config& c) { return c.model.name; }},
    {"input", kShape, "Input height x width x channels (e.g. 28x28x1); the data's images must have this size",
     [](const Field& f, Config& c) { parse_input(f, c.model); },
     [](const Config& c) { return fmt::format("{}x{}x{}", c.model.input_h, c.model.input_w, c.model.input_c); }},
    {"classes", integer(2, 100000), "Number of classes; labels run from 0 to classes - 1",
     [](const Field& f, Config& c) { c.model.classes = parse_int(f); },
     [](const Config& c) { return text_of(c.model.classes); }},
};
constexpr KeyRule kDataKeys[] = {
    {"dir", kText, "Folder with the four MNIST-format IDX files (tools/fetch_mnist.sh fetches MNIST into data/mnist)",
     [](const Field& f, Config& c) { c.data.dir = parse_string(f); }, [](const Config& c) { return c.data.dir; }},
    {"validation_split", number(kFraction),
     "Fraction of the training images held out for validation, drawn once per run from the seed (0: none)",
     [](const Field& f, Config& c) { c.data.validation_split = parse_float(f); },
     [](const Config& c) { return text_of(c.data.validation_split); }},
    {"train_limit", integer(0, std::numeric_limits<int>::max()),
     "Use only the first N training images, validation included (0: all)",
     [](const Field& f, Config& c) { c.data.train_limit = parse_int(f); },
     [](const Config& c) { return text_of(c.data.train_limit); }},
    {"mean", number(kAnyFinite), "Normalisation after scaling pixels to [0, 1]: (x - mean) / std",
     [](const Field& f, Config& c) { c.data.mean = parse_float(f); },
     [](const Config& c) { return text_of(c.data.mean); }},
    {"std", number(kPositive), "Normalisation after scaling pixels to [0, 1]: (x - mean) / std",
     [](const Field& f, Config& c) { c.data.std = parse_float(f); },
     [](const Config& c) { return text_of(c.data.std); }},
};
constexpr KeyRule kAugmentKeys[] = {
    {"enabled", kBoolean, "A random affine transform of every training image, drawn anew each epoch",
     [](const Field& f, Config& c) { c.augment.enabled = parse_bool(f); },
     [](const Config& c) { return text_of(c.augment.enabled); }},
    {"rotation", number({0, 180, false, false}), "Rotation drawn uniformly from -rotation to +rotation, degrees",
     [](const Field& f, Config& c) { c.augment.params.rotation_deg = parse_float(f); },
     [](const Config& c) { return text_of(c.augment.params.rotation_deg); }},
    {"width_shift", number(kFraction),
     "Horizontal shift drawn uniformly from -width_shift to +width_shift, fraction of the width",
     [](const Field& f, Config& c) { c.augment.params.shift_x = parse_float(f); },
     [](const Config& c) { return text_of(c.augment.params.shift_x); }},
    {"height_shift", number(kFraction),
     "Vertical shift drawn uniformly from -height_shift to +height_shift, fraction of the height",
     [](const Field& f, Config& c) { c.augment.params.shift_y = parse_float(f); },
     [](const Config& c) { return text_of(c.augment.params.shift_y); }},
    {"zoom", number(kFraction), "Zoom factor per axis drawn uniformly from 1 - zoom to 1 + zoom",
     [](const Field& f, Config& c) { c.augment.params.zoom = parse_float(f); },
     [](const Config& c) { return text_of(c.augment.params.zoom); }},
};
constexpr KeyRule kTrainKeys[] = {
    {"epochs", integer(1, 10000), "Passes over the training images (early stopping may end the run sooner)",
     [](const Field& f, Config& c) { c.train.epochs = parse_int(f); },
     [](const Config& c) { return text_of(c.train.epochs); }},
    {"batch_size", integer(1, 65536),
     "Images per optimizer step; under mpirun the global batch, split between the ranks",
     [](const Field& f, Config& c) { c.train.batch_size = parse_int(f); },
     [](const Config& c) { return text_of(c.train.batch_size); }},
    {"optimizer", one_of([] { return names_of<OptimizerKind>(kOptimizers); }), "The optimizer, as Keras defines it",
     [](const Field& f, Config& c) { c.train.optimizer.kind = parse_enum<OptimizerKind>(f, kOptimizers); },
     [](const Config& c) { return name_of<OptimizerKind>(c.train.optimizer.kind, kOptimizers); }},
    {"learning_rate", number(kPositive), "The base learning rate, which [lr_schedule] varies",
     [](const Field& f, Config& c) { c.train.learning_rate = parse_float(f); },
     [](const Config& c) { return text_of(c.train.learning_rate); }},
    {"beta1", number(kFraction), "adam, adamw: decay of the first-moment average",
     [](const Field& f, Config& c) { c.train.optimizer.beta1 = parse_float(f); },
     [](const Config& c) { return text_of(c.train.optimizer.beta1); }},
    {"beta2", number(kFraction), "adam, adamw: decay of the second-moment average",
     [](const Field& f, Config& c) { c.train.optimizer.beta2 = parse_float(f); },
     [](const Config& c) { return text_of(c.train.optimizer.beta2); }},
    {"epsilon", number(kPositive), "adam, adamw: added to the root of the second moment (Keras' epsilon)",
     [](const Field& f, Config& c) { c.train.optimizer.eps = parse_float(f); },
     [](const Config& c) { return text_of(c.train.optimizer.eps); }},
    {"momentum", number(kFraction), "sgd: momentum of the velocity (0: plain SGD)",
     [](const Field& f, Config& c) { c.train.optimizer.momentum = parse_float(f); },
     [](const Config& c) { return text_of(c.train.optimizer.momentum); }},
    {"nesterov", kBoolean, "sgd: Nesterov momentum",
     [](const Field& f, Config& c) { c.train.optimizer.nesterov = parse_bool(f); },
     [](const Config& c) { return text_of(c.train.optimizer.nesterov); }},
    {"weight_decay", number(kFraction),
     "Decoupled weight decay w = w * (1 - lr * weight_decay) of conv and dense kernels, any optimizer",
     [](const Field& f, Config& c) { c.train.optimizer.weight_decay = parse_float(f); },
     [](const Config& c) { return text_of(c.train.optimizer.weight_decay); }},
    {"seed", kUnsigned,
     "Seed of every random decision: split, shuffle, augmentation, dropout, initial weights (--seed sets it)",
     [](const Field& f, Config& c) { c.train.seed = parse_u64(f); },
     [](const Config& c) { return text_of(c.train.seed); }},
    {"checkpoint_every", integer(1, 10000), "Write the resumable checkpoint model.hdr after every N-th epoch",
     [](const Field& f, Config& c) { c.train.checkpoint_every = parse_int(f); },
     [](const Config& c) { return text_of(c.train.checkpoint_every); }},
    {"label_smoothing", number(kFraction), "s: the loss's target is (1 - s) * one-hot + s / classes",
     [](const Field& f, Config& c) { c.train.label_smoothing = parse_float(f); },
     [](const Config& c) { return text_of(c.train.label_smoothing); }},
    {"ema", number(kFraction),
     "Decay of a moving average of the weights that validation, the test and saved models use (0: off)",
     [](const Field& f, Config& c) { c.train.ema = parse_float(f); },
     [](const Config& c) { return text_of(c.train.ema); }},
    {"sync_batchnorm", kBoolean, "mpirun: batch-norm statistics of the global batch instead of each rank's slice",
     [](const Field& f, Config& c) { c.train.sync_batchnorm = parse_bool(f); },
     [](const Config& c) { return text_of(c.train.sync_batchnorm); }},
    {"collective_timeout", integer(0, 86400),
     "mpirun: seconds a rank waits for the others before it ends the run (0: forever)",
     [](const Field& f, Config& c) { c.train.collective_timeout = parse_int(f); },
     [](const Config& c) { return text_of(c.train.collective_timeout); }},
    {"gradient_bucket_kib", integer(1, 1 << 20),
     "mpirun on GPUs: KiB of gradients merged into one NCCL all-reduce during the backward pass",
     [](const Field& f, Config& c) { c.train.gradient_bucket_kib = parse_int(f); },
     [](const Config& c) { return text_of(c.train.gradient_bucket_kib); }},
};
constexpr KeyRule kEarlyStoppingKeys[] = {
    {"enabled", kBoolean, "Stop when the monitored metric has not improved for patience epochs",
     [](const Field& f, Config& c) { c.early_stopping.enabled = parse_bool(f); },
     [](const Config& c) { return text_of(c.early_stopping.enabled); }},
    {"monitor", one_of([] { return names_of<std::string_view>(kMonitors); }),
     "The metric watched (val_*: needs a validation split); accuracies must rise, losses fall",
     [](const Field& f, Config& c) { c.early_stopping.monitor = monitor(f); },
     [](const Config& c) { return c.early_stopping.monitor; }},
    {"patience", integer(0, 10000), "Epochs without improvement before the run stops",
     [](const Field& f, Config& c) { c.early_stopping.patience = parse_int(f); },
     [](const Config& c) { return text_of(c.early_stopping.patience); }},
    {"min_delta", number(kNonNegative), "The smallest change that counts as an improvement",
     [](const Field& f, Config& c) { c.early_stopping.min_delta = parse_float(f); },
     [](const Config& c) { return text_of(c.early_stopping.min_delta); }},
    {"restore_best_weights", kBoolean, "End with the weights of the best epoch rather than the last",
     [](const Field& f, Config& c) { c.early_stopping.restore_best_weights = parse_bool(f); },
     [](const Config& c) { return text_of(c.early_stopping.restore_best_weights); }},
};
constexpr KeyRule kLrScheduleKeys[] = {
    {"type", one_of([] { return names_of<ScheduleKind>(kSchedules); }),
     "constant; plateau (Keras' ReduceLROnPlateau); step (lr * factor^floor(epoch / step_epochs)); cosine (to "
     "min_lr over the run); onecycle (a linear rise, then cosine down)",
     [](const Field& f, Config& c) { c.lr_schedule.kind = parse_enum<ScheduleKind>(f, kSchedules); },
     [](const Config& c) { return name_of<ScheduleKind>(c.lr_schedule.kind, kSchedules); }},
    {"monitor", one_of([] { return names_of<std::string_view>(kMonitors); }), "plateau: the metric watched",
     [](const Field& f, Config& c) { c.lr_schedule.monitor = monitor(f); },
     [](const Config& c) { return c.lr_schedule.monitor; }},
    {"factor", number(kOpenFraction), "plateau, step: the multiplier applied to the learning rate",
     [](const Field& f, Config& c) { c.lr_schedule.factor = parse_float(f); },
     [](const Config& c) { return text_of(c.lr_schedule.factor); }},
    {"patience", integer(0, 10000), "plateau: epochs without improvement before the rate is multiplied",
     [](const Field& f, Config& c) { c.lr_schedule.patience = parse_int(f); },
     [](const Config& c) { return text_of(c.lr_schedule.patience); }},
    {"min_delta", number(kNonNegative), "plateau: the smallest change that counts as an improvement",
     [](const Field& f, Config& c) { c.lr_schedule.min_delta = parse_float(f); },
     [](const Config& c) { return text_of(c.lr_schedule.min_delta); }},
    {"cooldown", integer(0, 10000), "plateau: epochs after a reduction before waiting starts again",
     [](const Field& f, Config& c) { c.lr_schedule.cooldown = parse_int(f); },
     [](const Config& c) { return text_of(c.lr_schedule.cooldown); }},
    {"min_lr", number(kNonNegative), "plateau, cosine: the floor of the learning rate",
     [](const Field& f, Config& c) { c.lr_schedule.min_lr = parse_float(f); },
     [](const Config& c) { return text_of(c.lr_schedule.min_lr); }},
    {"step_epochs", integer(1, 10000), "step: epochs between two multiplications by factor",
     [](const Field& f, Config& c) { c.lr_schedule.step_epochs = parse_int(f); },
     [](const Config& c) { return text_of(c.lr_schedule.step_epochs); }},
    {"max_lr", number(kNonNegative), "onecycle: the peak learning rate (0: 10 x learning_rate)",
     [](const Field& f, Config& c) { c.lr_schedule.max_lr = parse_float(f); },
     [](const Config& c) { return text_of(c.lr_schedule.max_lr); }},
    {"warmup_fraction", number(kFraction), "onecycle: the share of the run's steps spent rising to the peak",
     [](const Field& f, Config& c) { c.lr_schedule.warmup_fraction = parse_float(f); },
     [](const Config& c) { return text_of(c.lr_schedule.warmup_fraction); }},
};

struct SectionRule {
  std::string_view name;
  std::string_view help;
  std::span<const KeyRule> keys;
};
constexpr SectionRule kSections[] = {
    {"model", "The network: its name, input and classes. Its layers are the [layer.NAME] sections.", kModelKeys},
    {"data", "Where the images come from and how they are normalised.", kDataKeys},
    {"augment", "Random augmentation of the training images (Keras' ImageDataGenerator ranges).", kAugmentKeys},
    {"train", "The optimizer and the training loop.", kTrainKeys},
    {"early_stopping", "Keras' EarlyStopping.", kEarlyStoppingKeys},
    {"lr_schedule", "How the learning rate changes over the run.", kLrScheduleKeys}};

const SectionRule* find_section_rule(std::string_view name) {
  for (const auto& s : kSections)
    if (s.name == name) return &s;
  return nullptr;
}

constexpr std::string_view kLayerPrefix = "layer.";

// Layer keys, each with the layer types it applies to (bit per LayerType).
constexpr unsigned bit(LayerType t) { return 1u << static_cast<unsigned>(t); }
constexpr unsigned kConv = bit(LayerType::kConv2D), kDense = bit(LayerType::kDense), kBn = bit(LayerType::kBatchNorm),
                   kPool = bit(LayerType::kMaxPool), kDropout = bit(LayerType::kDropout);

struct LayerKeyRule {
  std::string_view key;
  unsigned types;
  Accepts accepts;
  std::string_view help;
  void (*apply)(const Field&, LayerSpec&);
  std::string (*value)(const LayerSpec&);
};

constexpr LayerKeyRule kLayerKeys[] = {
    {"filters", kConv, integer(1, 65536), "Output channels",
     [](const Field& f, LayerSpec& l) { l.filters = parse_int(f); },
     [](const LayerSpec& l) { return text_of(l.filters); }},
    {"kernel", kConv, integer(1, 64), "Side of the square window",
     [](const Field& f, LayerSpec& l) { l.kernel = parse_int(f); },
     [](const LayerSpec& l) { return text_of(l.kernel); }},
    {"stride", kConv | kPool, integer(1, 64), "Step of the window (maxpool: its size when not given)",
     [](const Field& f, LayerSpec& l) { (l.type == LayerType::kConv2D ? l.stride : l.pool_stride) = parse_int(f); },
     [](const LayerSpec& l) { return text_of(l.type == LayerType::kConv2D ? l.stride : l.pool_stride); }},
    {"padding", kConv, one_of([] { return names_of<bool>(kPaddings); }),
     "valid: none; same: zeros around the input, so that stride 1 keeps its size",
     [](const Field& f, LayerSpec& l) { l.same_padding = parse_enum<bool>(f, kPaddings); },
     [](const LayerSpec& l) { return name_of<bool>(l.same_padding, kPaddings); }},
    {"units", kDense, integer(1, 1 << 20), "Outputs", [](const Field& f, LayerSpec& l) { l.units = parse_int(f); },
     [](const LayerSpec& l) { return text_of(l.units); }},
    {"activation", kConv | kDense | kBn, one_of([] {
       return fmt::format("{} (dense: {})", names_of<Activation>(kActivationsHidden),
                          names_of<Activation>(kActivationsDense));
     }),
     "Applied to the output (batchnorm: after normalising); softmax only on the last layer, fused with the loss",
     [](const Field& f, LayerSpec& l) {
       l.activation = l.type == LayerType::kDense ? parse_enum<Activation>(f, kActivationsDense)
                                                  : parse_enum<Activation>(f, kActivationsHidden);
     },
     [](const LayerSpec& l) { return name_of<Activation>(l.activation, kActivationsDense); }},
    {"init", kConv | kDense, one_of([] { return names_of<Initializer>(kInitializers); }),
     "Initial weights, as Keras draws them (biases start at 0)",
     [](const Field& f, LayerSpec& l) { l.init = parse_enum<Initializer>(f, kInitializers); },
     [](const LayerSpec& l) { return name_of<Initializer>(l.init, kInitializers); }},
    {"l2", kConv | kDense, number(kFraction), "Keras' kernel_regularizer l2(l2): adds 2 * l2 * w to the gradient",
     [](const Field& f, LayerSpec& l) { l.l2 = parse_float(f); }, [](const LayerSpec& l) { return text_of(l.l2); }},
    {"size", kPool, integer(1, 64), "Side of the square window",
     [](const Field& f, LayerSpec& l) { l.pool = parse_int(f); }, [](const LayerSpec& l) { return text_of(l.pool); }},
    {"rate", kDropout, number(kFraction),
     "Fraction of the inputs set to zero in training (the rest scaled by 1 / (1 - rate))",
     [](const Field& f, LayerSpec& l) { l.rate = parse_float(f); }, [](const LayerSpec& l) { return text_of(l.rate); }},
    {"momentum", kBn, number(kFraction), "Decay of the moving mean and variance used in inference",
     [](const Field& f, LayerSpec& l) { l.momentum = parse_float(f); },
     [](const LayerSpec& l) { return text_of(l.momentum); }},
    {"epsilon", kBn, number(kPositive), "Added to the variance before its square root",
     [](const Field& f, LayerSpec& l) { l.eps = parse_float(f); }, [](const LayerSpec& l) { return text_of(l.eps); }},
};

// The key a layer of type t must set ("" when none).
std::string_view required_layer_key(LayerType t) {
  return t == LayerType::kConv2D    ? "filters"
         : t == LayerType::kDense   ? "units"
         : t == LayerType::kDropout ? "rate"
                                    : "";
}

std::string_view type_name(LayerType t) {
  for (const auto& c : kLayerTypes)
    if (c.value == t) return c.name;
  return "?";
}

const Entry* find_entry(const Section& s, std::string_view key) {
  for (const Entry& e : s.entries)
    if (e.key == key) return &e;
  return nullptr;
}

LayerSpec interpret_layer(const Section& s, bool last) {
  LayerSpec l;
  l.name = s.name.substr(kLayerPrefix.size());
  l.line = s.line;
  const bool name_ok = !l.name.empty() && l.name.size() <= kMaxLayerName &&
                       std::all_of(l.name.begin(), l.name.end(), [](char ch) {
                         return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
                       });
  if (!name_ok)
    throw InputError(
        fmt::format("{}: [{}]: a layer name is 1 to {} letters, digits, '_' or '-'", s.where, s.name, kMaxLayerName));
  const auto missing = [&](std::string_view key) {
    return InputError(fmt::format("{}: [{}] missing required key '{}'", s.where, s.name, key));
  };
  const Entry* type = find_entry(s, "type");
  if (!type) throw missing("type");
  l.type = parse_enum<LayerType>(Field{*type, s.name}, kLayerTypes);

  bool stride_given = false;
  for (const Entry& e : s.entries) {
    if (&e == type) continue;
    const auto rule = std::find_if(std::begin(kLayerKeys), std::end(kLayerKeys),
                                   [&](const LayerKeyRule& r) { return r.key == e.key; });
    if (rule == std::end(kLayerKeys))
      throw InputError(fmt::format("{}: unknown key '{}' in [{}]", e.where, e.key, s.name));
    if (!(rule->types & bit(l.type)))
      throw InputError(
          fmt::format("{}: [{}] key '{}' does not apply to a {} layer", e.where, s.name, e.key, type_name(l.type)));
    rule->apply(Field{e, s.name, &rule->accepts}, l);
    stride_given |= e.key == "stride";
  }

  const std::string_view required = required_layer_key(l.type);
  if (!required.empty() && !find_entry(s, required)) throw missing(required);
  if (l.type == LayerType::kMaxPool && !stride_given) l.pool_stride = l.pool;
  if (l.activation == Activation::kSoftmax && !last)
    Field{*find_entry(s, "activation"), s.name}.fail(
        "softmax is allowed only on the last layer (the output, fused with the loss)");
  return l;
}

Config interpret(const std::vector<Section>& sections, const std::string& source) {
  Config c;
  size_t layers = 0;
  for (const Section& s : sections) layers += s.name.starts_with(kLayerPrefix);
  if (layers == 0)
    throw InputError(fmt::format("{}: no [layer.NAME] section: a model needs at least one layer", source));

  for (const Section& s : sections) {
    if (s.name.starts_with(kLayerPrefix)) {
      c.model.layers.push_back(interpret_layer(s, c.model.layers.size() + 1 == layers));
      continue;
    }
    const SectionRule* rule = find_section_rule(s.name);
    if (!rule) throw InputError(fmt::format("{}: unknown section [{}]", s.where, s.name));
    for (const Entry& e : s.entries) {
      const auto key = std::find_if(rule->keys.begin(), rule->keys.end(),
                                    [&](const KeyRule& k) { return k.key == e.key; });
      if (key == rule->keys.end())
        throw InputError(fmt::format("{}: unknown key '{}' in [{}]", e.where, e.key, s.name));
      key->apply(Field{e, s.name, &key->accepts}, c);
    }
  }

  // A val_* monitor needs a validation split.
  if (c.data.validation_split == 0.0f) {
    const bool es = c.early_stopping.enabled && c.early_stopping.monitor.starts_with("val_");
    const bool plateau = c.lr_schedule.kind == ScheduleKind::kPlateau && c.lr_schedule.monitor.starts_with("val_");
    if (es || plateau) {
      const auto data = std::find_if(sections.begin(), sections.end(),
                                     [](const Section& s) { return s.name == "data"; });
      Field{*find_entry(*data, "validation_split"), "data"}.fail(
          fmt::format("0 leaves no validation set, but [{}] monitors {}", es ? "early_stopping" : "lr_schedule",
                      es ? c.early_stopping.monitor : c.lr_schedule.monitor));
    }
  }
  // The augmentation kernel also does the scaling and normalisation of every batch.
  c.augment.params.mean = c.data.mean;
  c.augment.params.inv_std = 1.0f / c.data.std;
  return c;
}

// ---------------------------------------------------------------- pass 2: overrides

// "section.key=value", split at the first '=' and at the last '.' before it; section and key
// are empty when the argument has no such shape.
struct OverrideParts {
  std::string_view section, key, value;
};
OverrideParts split_override(std::string_view arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos) return {};
  const std::string_view name = arg.substr(0, eq);
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return {};
  return {trim(name.substr(0, dot)), trim(name.substr(dot + 1)), trim(arg.substr(eq + 1))};
}

void apply_override(std::vector<Section>& sections, const std::string& arg, const std::string& source) {
  const std::string where = fmt::format("--set {}", arg);
  const auto [section, key, value_text] = split_override(arg);
  if (section.empty() || key.empty())
    throw InputError(fmt::format("{}: expected section.key=value (e.g. train.epochs=5)", where));
  const std::string value(value_text);

  // (An init-capture: clang 14, which the fuzz build uses, cannot capture a structured binding.)
  auto s = std::find_if(sections.begin(), sections.end(),
                        [&name = section](const Section& x) { return x.name == name; });
  if (s == sections.end()) {
    if (section.starts_with(kLayerPrefix))
      throw InputError(
          fmt::format("{}: no section [{}] in {} (--set changes layers, it cannot add them)", where, section, source));
    if (!find_section_rule(section)) throw InputError(fmt::format("{}: unknown section [{}]", where, section));
    sections.push_back({std::string(section), 0, where, {}});
    s = sections.end() - 1;
  }
  for (Entry& e : s->entries) {
    if (e.key == key) {
      e.value = value;
      e.where = where;
      return;
    }
  }
  s->entries.push_back({std::string(key), value, where});
}

}  // namespace

Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides) {
  std::vector<Section> sections = collect(text, source);
  for (const std::string& arg : overrides) apply_override(sections, arg, source);
  Config c = interpret(sections, source);
  c.source = source;
  c.text = text;
  c.overrides = overrides;
  return c;
}

Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw InputError(fmt::format("{}: no such config file", name));
  if (std::filesystem::is_directory(status))
    throw InputError(fmt::format("{}: is a directory, not a config file", name));
  if (!std::filesystem::is_regular_file(status)) throw InputError(fmt::format("{}: is not a regular file", name));
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxConfigBytes)
    throw InputError(fmt::format("{}: {} bytes is too large for a config file", name, size));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open: {}", name, std::generic_category().message(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError(fmt::format("{}: read error", name));
  return parse_config(text.str(), name, overrides);
}

Config default_config(const std::vector<std::string>& overrides) {
  return parse_config(kDefaultConfigText, kDefaultConfigName, overrides);
}

Config speedrun_config(const std::vector<std::string>& overrides) {
  return parse_config(kSpeedrunConfigText, kSpeedrunConfigName, overrides);
}

std::vector<std::pair<std::string, std::string>> resolved_entries(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto add_section = [&](const SectionRule& s) {
    for (const KeyRule& k : s.keys) out.emplace_back(fmt::format("{}.{}", s.name, k.key), k.value(config));
  };
  add_section(kSections[0]);  // [model], then the layers in order, then the other sections
  for (const LayerSpec& l : config.model.layers) {
    const std::string section = fmt::format("{}{}", kLayerPrefix, l.name);
    out.emplace_back(section + ".type", std::string(type_name(l.type)));
    for (const LayerKeyRule& k : kLayerKeys)
      if (k.types & bit(l.type)) out.emplace_back(fmt::format("{}.{}", section, k.key), k.value(l));
  }
  for (size_t i = 1; i < std::size(kSections); ++i) add_section(kSections[i]);
  return out;
}

std::string resolved_config_text(const Config& config) {
  const auto entries = resolved_entries(config);
  std::string text = "# Every key of the run's config, as hdr resolved it (defaults included).\n";
  std::string_view section;
  for (const auto& [name, value] : entries) {
    const size_t dot = name.rfind('.');
    const std::string_view s = std::string_view(name).substr(0, dot);
    if (s != section) {
      text += fmt::format("{}[{}]\n", section.empty() ? "" : "\n", s);
      section = s;
    }
    text += fmt::format("{} = {}\n", name.substr(dot + 1), value);
  }
  // A string value can hold what INI cannot carry (a newline, an inline ';' comment, a line too
  // long for inih) or what the checkpoint's JSON metadata cannot (bytes that are not UTF-8): such
  // a config is refused here, before anything is trained with it.
  const auto unstorable = [](const std::string& why) {
    return InputError(fmt::format("the config cannot be stored in a checkpoint: {}", why));
  };
  for (const auto& [name, value] : entries)
    if (!is_valid_utf8(name) || !is_valid_utf8(value))
      throw unstorable(fmt::format("{} is not valid UTF-8 text", is_valid_utf8(name) ? name : "a layer name"));
  std::vector<std::pair<std::string, std::string>> again;
  try {
    again = resolved_entries(parse_config(text, "its resolved text"));
  } catch (const InputError& e) {
    throw unstorable(e.what());
  }
  for (size_t i = 0; i < entries.size(); ++i)
    if (i >= again.size() || again[i] != entries[i])
      throw unstorable(fmt::format("{} = '{}' does not read back the same", entries[i].first, entries[i].second));
  return text;
}

std::vector<ConfigChange> config_changes(const Config& before, const Config& after) {
  const auto a = resolved_entries(before), b = resolved_entries(after);
  const auto value_in = [](const auto& entries, const std::string& key) -> const std::string* {
    for (const auto& [k, v] : entries)
      if (k == key) return &v;
    return nullptr;
  };
  std::vector<ConfigChange> changes;
  for (const auto& [key, value] : a) {
    const std::string* other = value_in(b, key);
    if (!other || *other != value) changes.push_back({key, value, other ? *other : ""});
  }
  for (const auto& [key, value] : b)
    if (!value_in(a, key)) changes.push_back({key, "", value});
  return changes;
}

std::string shown_config_value(const std::string& value) { return value.empty() ? "(absent)" : value; }

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t k) { return uint8_t(text[k]); };
    const uint8_t b = byte(i);
    if (b < 0x80) {
      ++i;
      continue;
    }
    // The length of the sequence and the range its second byte may take (which rules out
    // overlong forms, UTF-16 surrogates and code points above U+10FFFF).
    size_t n = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
      n = 2;
    else if (b == 0xE0)
      n = 3, lo = 0xA0;
    else if (b >= 0xE1 && b <= 0xEC)
      n = 3;
    else if (b == 0xED)
      n = 3, hi = 0x9F;
    else if (b >= 0xEE && b <= 0xEF)
      n = 3;
    else if (b == 0xF0)
      n = 4, lo = 0x90;
    else if (b >= 0xF1 && b <= 0xF3)
      n = 4;
    else if (b == 0xF4)
      n = 4, hi = 0x8F;
    else
      return false;
    if (i + n > text.size() || byte(i + 1) < lo || byte(i + 1) > hi) return false;
    for (size_t k = 2; k < n; ++k)
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return false;
    i += n;
  }
  return true;
}

namespace {

// An Accepts as the reference prints it: "1..10000", "[0, 1)", "> 0", "adam, adamw, sgd".
std::string describe(const Accepts& a) {
  const Range& r = a.range;
  switch (a.kind) {
    case Accepts::kInt:
      return r.hi == std::numeric_limits<int>::max() ? fmt::format(">= {}", r.lo) : fmt::format("{}..{}", r.lo, r.hi);
    case Accepts::kUnsigned: return "integer >= 0";
    case Accepts::kFloat:
      if (r.lo == -kInf && r.hi == kInf) return "any number";
      if (r.hi == kInf) return fmt::format("{} {}", r.lo_open ? ">" : ">=", r.lo);
      return fmt::format("{}{}, {}{}", r.lo_open ? '(' : '[', r.lo, r.hi, r.hi_open ? ')' : ']');
    case Accepts::kBool: return "true, false (or yes/no, on/off, 1/0)";
    case Accepts::kChoice: return a.choices();
    case Accepts::kText: return "text";
    case Accepts::kShape: return "HxWxC";
  }
  throw std::logic_error("config: an Accepts of no kind");
}

}  // namespace

std::vector<ConfigSectionInfo> config_reference() {
  std::vector<ConfigSectionInfo> out;
  const Config defaults;
  const auto add_section = [&](const SectionRule& s) {
    ConfigSectionInfo section{std::string(s.name), std::string(s.help), {}};
    for (const KeyRule& k : s.keys)
      section.keys.push_back({std::string(k.key), "", describe(k.accepts), k.value(defaults), std::string(k.help)});
    out.push_back(std::move(section));
  };
  add_section(kSections[0]);  // [model], then the layers, then the other sections: file order

  ConfigSectionInfo layers{fmt::format("{}NAME", kLayerPrefix),
                           "One section per layer, in the order the network applies them; NAME is 1 to 40 letters, "
                           "digits, '_' or '-'. Each key applies to the layer types listed.",
                           {}};
  layers.keys.push_back({"type", "every type", names_of<LayerType>(kLayerTypes), "required",
                         "What the layer computes; flatten and relu take no other key"});
  for (const LayerKeyRule& k : kLayerKeys) {
    std::vector<std::string_view> types;
    std::vector<std::string> values;  // the default for each type, as interpret_layer leaves it
    for (const auto& t : kLayerTypes) {
      if (!(k.types & bit(t.value))) continue;
      types.push_back(t.name);
      LayerSpec l;
      l.type = t.value;
      if (l.type == LayerType::kMaxPool) l.pool_stride = l.pool;  // a maxpool's stride defaults to its size
      values.push_back(required_layer_key(l.type) == k.key ? "required" : k.value(l));
    }
    std::string default_value = values.front();
    if (std::any_of(values.begin(), values.end(), [&](const std::string& v) { return v != values.front(); })) {
      default_value.clear();
      for (size_t i = 0; i < types.size(); ++i)
        default_value += fmt::format("{}{}: {}", i ? "; " : "", types[i], values[i]);
    }
    layers.keys.push_back({std::string(k.key), fmt::format("{}", fmt::join(types, ", ")), describe(k.accepts),
                           default_value, std::string(k.help)});
  }
  out.push_back(std::move(layers));
  for (size_t i = 1; i < std::size(kSections); ++i) add_section(kSections[i]);
  return out;
}

std::string override_key(const std::string& arg) {
  const auto [section, key, value] = split_override(arg);
  return section.empty() || key.empty() ? "" : fmt::format("{}.{}", section, key);
}

}  // namespace hdr

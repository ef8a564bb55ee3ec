// A strict reader of the Prometheus text exposition format 0.0.4, as its documentation
// (prometheus.io/docs/instrumenting/exposition_formats) defines it, for tests of `hdr serve`'s
// /metrics: every line a HELP, a TYPE or a sample; names and label names of the allowed
// characters; label values quoted with only \\, \" and \n escaped; each family's TYPE before its
// samples and its samples together; histogram samples as _bucket (with le), _sum and _count,
// their buckets cumulative and ending at le="+Inf" equal to _count. Any violation throws
// std::runtime_error naming the line.
#pragma once

#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

namespace hdr::test {

struct PrometheusText {
  std::map<std::string, std::string> types;  // family -> counter, gauge, histogram...
  std::map<std::string, double> samples;     // "name{a=\"x\",b=\"y\"}" (labels as sent) -> value

  double at(const std::string& key) const {
    const auto found = samples.find(key);
    if (found == samples.end()) throw std::runtime_error("no sample " + key);
    return found->second;
  }
};

inline PrometheusText parse_prometheus_text(const std::string& text) {
  auto fail = [](const std::string& line, const std::string& why) {
    throw std::runtime_error("/metrics line '" + line + "': " + why);
  };
  auto is_name = [](const std::string& s, bool colon) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    for (const char c : s)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (colon && c == ':'))) return false;
    return true;
  };
  PrometheusText out;
  std::set<std::string> finished;                         // families whose samples ended
  std::string current;                                    // the family of the samples being read
  std::map<std::string, double> last_bucket, inf_bucket;  // by histogram series (labels but le)
  if (!text.empty() && text.back() != '\n') fail(text.substr(text.rfind('\n') + 1), "the text must end with a newline");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string name, rest;
      words >> name;
      if (!is_name(name, true)) fail(line, "bad metric name");
      if (line[2] == 'T') {
        words >> rest;
        if (rest != "counter" && rest != "gauge" && rest != "histogram" && rest != "summary" && rest != "untyped")
          fail(line, "unknown type");
        if (out.types.count(name) || finished.count(name) || current == name) fail(line, "TYPE after samples or twice");
        out.types[name] = rest;
      }
      continue;
    }
    if (line.starts_with("#")) continue;
    if (line.empty()) fail(line, "empty line");
    const size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string::npos) fail(line, "no value");
    const std::string name = line.substr(0, name_end);
    if (!is_name(name, true)) fail(line, "bad metric name");
    size_t at = name_end;
    std::string labels, others, le;
    if (line[at] == '{') {
      ++at;
      while (line.at(at) != '}') {
        const size_t eq = line.find('=', at);
        if (eq == std::string::npos) fail(line, "label without '='");
        const std::string label = line.substr(at, eq - at);
        if (!is_name(label, false)) fail(line, "bad label name");
        if (line.at(eq + 1) != '"') fail(line, "unquoted label value");
        std::string value;
        size_t i = eq + 2;
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\') {
            const char e = line.at(++i);
            if (e != '\\' && e != '"' && e != 'n') fail(line, "bad escape in a label value");
            value += e == 'n' ? '\n' : e;
          } else {
            value += line[i];
          }
        }
        if (i >= line.size()) fail(line, "unterminated label value");
        const std::string sent = line.substr(at, i + 1 - at);
        if (label == "le")
          le = value;
        else
          others += (others.empty() ? "" : ",") + sent;
        labels += (labels.empty() ? "" : ",") + sent;
        at = i + 1;
        if (line.at(at) == ',') ++at;
      }
      ++at;
    }
    if (line.at(at) != ' ') fail(line, "no space before the value");
    const std::string value_text = line.substr(at + 1, line.find(' ', at + 1) - at - 1);
    double value = 0;
    if (value_text == "+Inf")
      value = INFINITY;
    else if (value_text == "-Inf")
      value = -INFINITY;
    else if (value_text == "NaN")
      value = NAN;
    else {
      size_t used = 0;
      try {
        value = std::stod(value_text, &used);
      } catch (const std::exception&) {
        fail(line, "bad value");
      }
      if (used != value_text.size()) fail(line, "bad value");
    }
    // The family: the name itself, or a histogram's name without its suffix.
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (name.ends_with(suffix) && out.types.count(name.substr(0, name.size() - std::strlen(suffix))) &&
          out.types.at(name.substr(0, name.size() - std::strlen(suffix))) == "histogram")
        family = name.substr(0, name.size() - std::strlen(suffix));
    if (!out.types.count(family)) fail(line, "a sample before its TYPE");
    if (family != current) {
      if (finished.count(family)) fail(line, "the family's samples are not together");
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    if (out.types[family] == "histogram") {
      if (family == name) fail(line, "a histogram sample without _bucket, _sum or _count");
      const std::string series = family + "{" + others + "}";
      if (name.ends_with("_bucket")) {
        if (le.empty()) fail(line, "a bucket without le");
        if (inf_bucket.count(series)) fail(line, "a bucket after le=\"+Inf\"");
        if (last_bucket.count(series) && value < last_bucket[series]) fail(line, "buckets are not cumulative");
        last_bucket[series] = value;
        if (le == "+Inf") inf_bucket[series] = value;
      } else if (name.ends_with("_count")) {
        if (!inf_bucket.count(series)) fail(line, "a histogram without its le=\"+Inf\" bucket");
        if (inf_bucket[series] != value) fail(line, "_count differs from the +Inf bucket");
      }
    }
    const std::string key = labels.empty() ? name : name + "{" + labels + "}";
    if (out.samples.count(key)) fail(line, "a sample given twice");
    out.samples[key] = value;
  }
  return out;
}

}  // namespace hdr::test

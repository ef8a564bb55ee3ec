#include "tools/cli/bench_compare.h"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/core/errors.h"

namespace hdr::cli {
namespace {

using nlohmann::json;

json read_result(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot be read", path));
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) throw InputError(fmt::format("{}: not JSON", path));
  if (!j.is_object() || !j.contains("schema") || (j["schema"] != kBenchSchema && j["schema"] != kComparableSchema))
    throw InputError(fmt::format("{}: not an hdr bench result (expected \"schema\": \"{}\" or \"{}\")", path,
                                 kBenchSchema, kComparableSchema));
  if (!j.contains("devices") || !j["devices"].is_array())
    throw InputError(fmt::format("{}: has no \"devices\" list (time-to-accuracy results are not compared)", path));
  return j;
}

const json* find_device(const json& result, const json& device) {
  for (const auto& d : result["devices"])
    if (d.at("device") == device.at("device") && d.at("available").get<bool>()) return &d;
  return nullptr;
}

void compare_rate(const char* label, const json& a, const json& b, const char* key) {
  if (!a.contains(label) || !b.contains(label)) return;
  const double ra = a[label].at(key).get<double>(), rb = b[label].at(key).get<double>();
  fmt::print("  {:<8} {:>12.0f} {:>12.0f} images/s   B/A {:.2f}x\n", label, ra, rb, rb / ra);
}

void compare_ops(const json& a, const json& b) {
  if (!a.contains("kernels") || !b.contains("kernels")) return;
  std::map<std::string, const json*> in_b;
  auto key = [](const json& op) {
    return op.at("scope").get<std::string>() + " / " + op.at("op").get<std::string>() + " [" +
           op.at("shape").get<std::string>() + "]";
  };
  for (const auto& op : b["kernels"].at("ops")) in_b[key(op)] = &op;
  fmt::print("  {:<80} {:>11} {:>11} {:>10}\n", "part / op [shape]", "A ms", "B ms", "B speed-up");
  for (const auto& op : a["kernels"].at("ops")) {
    const auto it = in_b.find(key(op));
    const double ta = op.at("median_ms").get<double>();
    if (it == in_b.end()) {
      fmt::print("  {:<80} {:>11.4f} {:>11} {:>10}\n", key(op), ta, "-", "only in A");
      continue;
    }
    const double tb = it->second->at("median_ms").get<double>();
    fmt::print("  {:<80} {:>11.4f} {:>11.4f} {:>9.2f}x\n", key(op), ta, tb, tb > 0 ? ta / tb : 0.0);
    in_b.erase(it);
  }
  for (const auto& [name, op] : in_b)
    fmt::print("  {:<80} {:>11} {:>11.4f} {:>10}\n", name, "-", op->at("median_ms").get<double>(), "only in B");
  const double sa = a["kernels"].at("ms_per_step").get<double>(), sb = b["kernels"].at("ms_per_step").get<double>();
  fmt::print("  {:<80} {:>11.3f} {:>11.3f} {:>9.2f}x\n", "step (op time)", sa, sb, sb > 0 ? sa / sb : 0.0);
}

}  // namespace

void compare_bench_files(const std::string& path_a, const std::string& path_b) {
  const json a = read_result(path_a), b = read_result(path_b);
  try {
    fmt::print("A: {} ({}, {}, {})\nB: {} ({}, {}, {})\n", path_a, a.value("command", "?"), a.value("model", "?"),
               a.value("hdr", "?"), path_b, b.value("command", "?"), b.value("model", "?"), b.value("hdr", "?"));
    for (const auto& da : a["devices"]) {
      if (!da.at("available").get<bool>()) continue;
      const json* db = find_device(b, da);
      fmt::print("\n{}: A {}\n{}  B {}\n", da.at("device").get<std::string>(), da.at("backend").get<std::string>(),
                 std::string(da.at("device").get<std::string>().size(), ' '),
                 db ? db->at("backend").get<std::string>() : "not measured");
      if (!db) continue;
      compare_rate("train", da, *db, "images_per_second");
      compare_rate("infer", da, *db, "images_per_second");
      compare_ops(da, *db);
    }
  } catch (const json::exception&) {
    throw InputError(fmt::format("{} or {}: a field of the schema is missing or of the wrong type", path_a, path_b));
  }
}

}  // namespace hdr::cli

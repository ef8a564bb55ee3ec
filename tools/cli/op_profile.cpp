#include "tools/cli/op_profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>

namespace hdr::cli {

nlohmann::json peaks_json(const DevicePeaks& p) {
  nlohmann::json j = {{"fp32_gflops", p.fp32_gflops},
                      {"fp32_source", p.fp32_source},
                      {"memory_gbs", p.memory_gbs},
                      {"memory_source", p.memory_source}};
  if (p.cache_gbs > 0) {
    j["cache_gbs"] = p.cache_gbs;
    j["cache_source"] = p.cache_source;
  }
  return j;
}

void put_percent_of_peak(nlohmann::json& j, double value, double peak) {
  const double percent = 100.0 * value / peak;
  if (percent <= 100.0) {
    j["percent_of_peak"] = percent;
    return;
  }
  j["percent_of_peak"] = nullptr;
  j["peak_under_measured"] = true;
}

std::string percent_of_peak_text(const nlohmann::json& j) {
  if (j.value("peak_under_measured", false)) return "above peak";
  return j.contains("percent_of_peak") ? fmt::format("{:.1f}%", j["percent_of_peak"].get<double>()) : "";
}

nlohmann::json op_profile_json(const std::vector<OpRow>& rows, int64_t steps, const DevicePeaks* peaks) {
  double step_seconds = 0;
  for (const OpRow& r : rows) step_seconds += r.total_seconds() / double(std::max<int64_t>(steps, 1));
  nlohmann::json ops = nlohmann::json::array();
  std::vector<std::string> part_order;
  std::map<std::string, double> parts;  // scope -> seconds per step
  bool under_measured = false;
  for (const OpRow& r : rows) {
    const double median = r.percentile(0.5), per_step = r.total_seconds() / double(std::max<int64_t>(steps, 1));
    nlohmann::json op = {{"scope", r.scope},
                         {"op", r.op},
                         {"shape", r.shape},
                         {"calls_per_step", steps > 0 ? double(r.seconds.size()) / double(steps) : 0.0},
                         {"median_ms", 1e3 * median},
                         {"p10_ms", 1e3 * r.percentile(0.1)},
                         {"p90_ms", 1e3 * r.percentile(0.9)},
                         {"ms_per_step", 1e3 * per_step},
                         {"share_percent", step_seconds > 0 ? 100.0 * per_step / step_seconds : 0.0},
                         {"flops", r.cost.flops},
                         {"bytes", r.cost.bytes},
                         {"gflops", median > 0 ? r.cost.flops / median * 1e-9 : 0.0},
                         {"gbs", median > 0 ? r.cost.bytes / median * 1e-9 : 0.0}};
    if (peaks && peaks->memory_gbs > 0 && peaks->fp32_gflops > 0) {
      const double gflops = op["gflops"].get<double>(), gbs = op["gbs"].get<double>();
      if (r.cost.intensity() >= peaks->fp32_gflops / peaks->memory_gbs) {
        op["bound"] = "compute";
        put_percent_of_peak(op, gflops, peaks->fp32_gflops);
      } else if (gbs > peaks->memory_gbs && peaks->cache_gbs > 0) {  // faster than memory: it ran from cache
        op["bound"] = "cache";
        put_percent_of_peak(op, gbs, peaks->cache_gbs);
      } else {
        op["bound"] = "memory";
        put_percent_of_peak(op, gbs, peaks->memory_gbs);
      }
      under_measured = under_measured || op.value("peak_under_measured", false);
    }
    ops.push_back(op);
    if (!parts.count(r.scope)) part_order.push_back(r.scope);
    parts[r.scope] += per_step;
  }
  nlohmann::json by_part = nlohmann::json::array();
  for (const std::string& scope : part_order)
    by_part.push_back({{"scope", scope},
                       {"ms_per_step", 1e3 * parts[scope]},
                       {"share_percent", step_seconds > 0 ? 100.0 * parts[scope] / step_seconds : 0.0}});
  nlohmann::json profile = {{"steps", steps}, {"ms_per_step", 1e3 * step_seconds}, {"parts", by_part}, {"ops", ops}};
  if (under_measured) profile["peak_under_measured"] = true;
  return profile;
}

void print_peaks(const nlohmann::json& p) {
  fmt::print("peaks: FP32 {:.1f} GFLOP/s ({}); memory {:.1f} GB/s ({})", p["fp32_gflops"].get<double>(),
             p["fp32_source"].get<std::string>(), p["memory_gbs"].get<double>(), p["memory_source"].get<std::string>());
  if (p.contains("cache_gbs"))
    fmt::print("; L2 {:.1f} GB/s ({})", p["cache_gbs"].get<double>(), p["cache_source"].get<std::string>());
  fmt::print("\n");
}

void print_op_profile(const nlohmann::json& profile) {
  fmt::print("{:.3f} ms of op time per step over {} steps\n", profile["ms_per_step"].get<double>(),
             profile["steps"].get<int64_t>());
  fmt::print("  {:<60} {:>10} {:>6}\n", "part of the step", "ms/step", "share");
  for (const auto& part : profile["parts"])
    fmt::print("  {:<60} {:>10.3f} {:>5.1f}%\n", part["scope"].get<std::string>(), part["ms_per_step"].get<double>(),
               part["share_percent"].get<double>());
  fmt::print("\n  {:<60} {:<30} {:>9} {:>15} {:>9} {:>8} {:>8} {:>14} {:>6}\n", "part / op", "shape", "median ms",
             "p10-p90 ms", "GFLOP/s", "GB/s", "bound", "% of its peak", "share");
  for (const auto& op : profile["ops"]) {
    const std::string name = op["scope"].get<std::string>() + " / " + op["op"].get<std::string>();
    const std::string bound = op.contains("bound") ? op["bound"].get<std::string>() : "";
    const std::string peak = percent_of_peak_text(op);
    fmt::print("  {:<60} {:<30} {:>9.4f} {:>7.4f}-{:<7.4f} {:>9.2f} {:>8.2f} {:>8} {:>14} {:>5.1f}%\n", name,
               op["shape"].get<std::string>(), op["median_ms"].get<double>(), op["p10_ms"].get<double>(),
               op["p90_ms"].get<double>(), op["gflops"].get<double>(), op["gbs"].get<double>(), bound, peak,
               op["share_percent"].get<double>());
  }
  if (profile.value("peak_under_measured", false))
    fmt::print("  above peak: faster than the roof measured at the start, so that roof was under-measured "
               "(another process busy then?); rerun on a quiet machine for percentages\n");
}

}  // namespace hdr::cli

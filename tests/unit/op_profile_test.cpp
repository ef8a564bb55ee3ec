// The % of peak `hdr bench` reports (tools/cli/op_profile.cpp): an op or a step faster than the
// peak measured at the start marks that peak as under-measured instead of printing over 100%.
#include "tools/cli/op_profile.h"

#include <gtest/gtest.h>

namespace hdr::cli {
namespace {

TEST(PercentOfPeak, BelowThePeakIsAPercentage) {
  nlohmann::json j;
  put_percent_of_peak(j, 50.0, 200.0);
  EXPECT_DOUBLE_EQ(j["percent_of_peak"].get<double>(), 25.0);
  EXPECT_FALSE(j.contains("peak_under_measured"));
  EXPECT_EQ(percent_of_peak_text(j), "25.0%");
}

TEST(PercentOfPeak, AboveThePeakMarksItUnderMeasured) {
  nlohmann::json j;
  put_percent_of_peak(j, 12.0, 3.23);  // "12 GFLOP/s = 371.5% of FP32 peak", seen under load
  EXPECT_TRUE(j["percent_of_peak"].is_null());
  EXPECT_TRUE(j["peak_under_measured"].get<bool>());
  EXPECT_EQ(percent_of_peak_text(j), "above peak");
}

OpRow row(const char* op, double flops, double bytes, double seconds) {
  OpRow r;
  r.scope = "part";
  r.op = op;
  r.cost = {flops, bytes};
  r.seconds = {seconds};
  return r;
}

TEST(OpProfileJson, AnOpAboveItsRoofMarksTheProfile) {
  DevicePeaks peaks;
  peaks.fp32_gflops = 100;
  peaks.memory_gbs = 10;
  // 1 GB in 50 ms: 20 GB/s, twice the memory roof, and no cache roof to fall back on.
  const std::vector<OpRow> rows = {row("fast", 1e6, 1e9, 0.05), row("slow", 1e6, 1e9, 0.2)};
  const nlohmann::json p = op_profile_json(rows, 1, &peaks);
  EXPECT_TRUE(p["peak_under_measured"].get<bool>());
  EXPECT_TRUE(p["ops"][0]["percent_of_peak"].is_null());
  EXPECT_DOUBLE_EQ(p["ops"][1]["percent_of_peak"].get<double>(), 50.0);
}

TEST(OpProfileJson, OpsWithinTheirRoofsLeaveTheProfileUnmarked) {
  DevicePeaks peaks;
  peaks.fp32_gflops = 100;
  peaks.memory_gbs = 10;
  const nlohmann::json p = op_profile_json({row("slow", 1e6, 1e9, 0.2)}, 1, &peaks);
  EXPECT_FALSE(p.contains("peak_under_measured"));
}

}  // namespace
}  // namespace hdr::cli

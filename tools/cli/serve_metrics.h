// What `hdr serve` counts for GET /metrics, in the Prometheus text exposition format (0.0.4):
// requests by endpoint and status code, request latency and inference time as histograms,
// images classified, body bytes received, requests in flight, workers, the model as an info
// metric, and the process start time; names and units as Prometheus's conventions have them
// (hdr_ prefix, seconds, bytes, _total for counters).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace hdr::cli {

// A histogram of durations in seconds with fixed buckets (Prometheus's cumulative "le" buckets
// are built when rendered).
struct DurationHistogram {
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  std::array<uint64_t, kBounds.size() + 1> counts{};  // the last: above every bound
  double sum = 0;
  uint64_t count = 0;

  void observe(double seconds);
};

struct ModelInfo {
  std::string name, device, version;
  int64_t parameters = 0;
  int workers = 0;
};

class ServeMetrics {
 public:
  explicit ServeMetrics(ModelInfo model);

  // A request's answer: its endpoint label (a route, never a raw path), status, time from head
  // to answer, and body bytes received.
  void answered(const std::string& endpoint, int status, double seconds, size_t body_bytes);
  // One call of the model on `images` images.
  void inferred(double seconds, int64_t images);

  // Every metric as Prometheus text, with `in_flight` requests read and not yet answered.
  std::string render(int in_flight) const;

 private:
  ModelInfo model_;
  double start_time_seconds_;  // since the Unix epoch
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, DurationHistogram> latency_;
  DurationHistogram inference_;
  uint64_t images_ = 0, bytes_ = 0;
};

}  // namespace hdr::cli

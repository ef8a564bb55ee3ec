#include "tools/cli/serve_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace hdr::cli {
namespace {

// A label value as the format escapes it: backslash, double quote and line feed.
std::string label_value(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// A histogram's _bucket, _sum and _count samples; `labels` ("endpoint=\"/predict\",") ends with
// a comma when not empty.
void histogram(std::string& out, const char* name, const std::string& labels, const DurationHistogram& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < DurationHistogram::kBounds.size(); ++i) {
    cumulative += h.counts[i];
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, labels, DurationHistogram::kBounds[i], cumulative);
  }
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, labels, h.count);
  const std::string plain = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, plain, h.sum, name, plain, h.count);
}

}  // namespace

void DurationHistogram::observe(double seconds) {
  const auto bucket = std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin();
  ++counts[size_t(bucket)];
  sum += seconds;
  ++count;
}

ServeMetrics::ServeMetrics(ModelInfo model)
    : model_(std::move(model)),
      start_time_seconds_(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()) {}

void ServeMetrics::answered(const std::string& endpoint, int status, double seconds, size_t body_bytes) {
  const std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
  latency_[endpoint].observe(seconds);
  bytes_ += body_bytes;
}

void ServeMetrics::inferred(double seconds, int64_t images) {
  const std::lock_guard lock(mutex_);
  inference_.observe(seconds);
  images_ += uint64_t(images);
}

std::string ServeMetrics::render(int in_flight) const {
  const std::lock_guard lock(mutex_);
  std::string out;
  family(out, "hdr_http_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
  for (const auto& [key, n] : requests_)
    out += fmt::format("hdr_http_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n", label_value(key.first),
                       key.second, n);
  family(out, "hdr_http_request_duration_seconds", "histogram",
         "Time from a request's head read to its answer ready, by endpoint.");
  for (const auto& [endpoint, h] : latency_)
    histogram(out, "hdr_http_request_duration_seconds", fmt::format("endpoint=\"{}\",", label_value(endpoint)), h);
  family(out, "hdr_inference_duration_seconds", "histogram",
         "Time of one call of the model (decoding and parsing excluded).");
  histogram(out, "hdr_inference_duration_seconds", "", inference_);
  family(out, "hdr_images_classified_total", "counter", "Images the model classified.");
  out += fmt::format("hdr_images_classified_total {}\n", images_);
  family(out, "hdr_http_received_body_bytes_total", "counter", "Request body bytes received.");
  out += fmt::format("hdr_http_received_body_bytes_total {}\n", bytes_);
  family(out, "hdr_http_requests_in_flight", "gauge", "Requests read and not yet answered.");
  out += fmt::format("hdr_http_requests_in_flight {}\n", in_flight);
  family(out, "hdr_workers", "gauge", "Requests the server computes at once.");
  out += fmt::format("hdr_workers {}\n", model_.workers);
  family(out, "hdr_model_info", "gauge", "The model served; the value is always 1.");
  out += fmt::format("hdr_model_info{{name=\"{}\",parameters=\"{}\",device=\"{}\",version=\"{}\"}} 1\n",
                     label_value(model_.name), model_.parameters, label_value(model_.device),
                     label_value(model_.version));
  family(out, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.");
  out += fmt::format("process_start_time_seconds {:.3f}\n", start_time_seconds_);
  return out;
}

}  // namespace hdr::cli

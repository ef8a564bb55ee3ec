#include "engine/profile/profiling_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hdr {
namespace {

// Timings the timer holds before they are read back: on the GPU a collect waits for the device,
// so it happens about once every 20 steps of a small CNN, not once per step.
constexpr size_t kMaxPending = 512;

}  // namespace

double OpRow::total_seconds() const { return std::accumulate(seconds.begin(), seconds.end(), 0.0); }

double OpRow::percentile(double q) const {
  if (seconds.empty()) return 0;
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  const double at = q * double(sorted.size() - 1);
  const size_t lo = size_t(std::floor(at)), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (at - double(lo)) * (sorted[hi] - sorted[lo]);
}

ProfilingBackend::ProfilingBackend(Backend& inner, bool flush_caches)
    : inner_(inner), flush_(flush_caches), timer_(inner.make_op_timer()) {}

void ProfilingBackend::end_step() {
  ++steps_;
  scope_.clear();
  if (pending_.size() >= kMaxPending) collect();
}

const std::vector<OpRow>& ProfilingBackend::rows() {
  collect();
  return rows_;
}

void ProfilingBackend::clear() {
  collect();
  rows_.clear();
  index_.clear();
  steps_ = 0;
}

void ProfilingBackend::collect() {
  const std::vector<double> seconds = timer_->collect();
  for (size_t i = 0; i < seconds.size() && i < pending_.size(); ++i) rows_[pending_[i]].seconds.push_back(seconds[i]);
  pending_.clear();
}

template <class Shape, class Cost, class Fn>
void ProfilingBackend::run(Op op, Shape shape, Cost cost, Fn fn) {
  if (scope_.empty()) return fn();
  const std::string text = shape();
  const std::string key = scope_ + '|' + op_name(op) + '|' + text;
  auto [it, added] = index_.try_emplace(key, rows_.size());
  if (added) rows_.push_back(OpRow{scope_, op_name(op), text, cost(), {}});
  if (flush_) inner_.flush_caches();
  timer_->start();
  fn();
  timer_->stop();
  pending_.push_back(it->second);
}

// Each op's row: its name, cost and shape text as the table gives them.
#define HDR_PROFILED_OP(name, Args, cost_expression, shape_expression)                                    \
  void ProfilingBackend::do_##name(const Args& a) {                                                       \
    [[maybe_unused]] const Backend& backend = inner_;                                                     \
    run(                                                                                                  \
        Op::name, [&] { return std::string(shape_expression); }, [&] { return OpCost(cost_expression); }, \
        [&] { inner_.name(a); });                                                                         \
  }
HDR_BACKEND_OPS(HDR_PROFILED_OP)
#undef HDR_PROFILED_OP

}  // namespace hdr

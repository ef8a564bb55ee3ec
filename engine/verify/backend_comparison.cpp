// The comparison's bookkeeping and its catalogue (engine/verify/backend_comparison.h).
#include "engine/verify/backend_comparison.h"

#include <algorithm>
#include <cmath>

namespace hdr {

void BackendComparison::check_values(const std::string& op, const std::string& output, const std::vector<float>& got,
                                     const std::vector<float>& want, OpTolerance tol) {
  double largest = 0;
  for (float w : want) largest = std::max(largest, double(std::fabs(w)));
  record(op, output, compare(got, want, Tolerance{tol.atol_of_max * largest, tol.rtol}));
}

void BackendComparison::check_tensors(const std::string& op, const std::string& output,
                                      const std::vector<NamedTensor>& got, const std::vector<NamedTensor>& want,
                                      OpTolerance tol) {
  if (got.size() != want.size()) {
    ++checks_;
    return fail(fmt::format("{} {}: {} tensors, {} in the reference", op, output, got.size(), want.size()));
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].name != want[i].name) {
      ++checks_;
      fail(fmt::format("{} {}: tensor {} is {}, {} in the reference", op, output, i, got[i].name, want[i].name));
      continue;
    }
    check_values(op + " " + got[i].name, output, got[i].data, want[i].data, tol);
  }
}

void BackendComparison::record(const std::string& op, const std::string& output, const Comparison& c) {
  log("{:<62} {:<13} {:>9} {:>12.3g} {:>12.3g}  {}\n", op, output, c.count, c.max_abs_error, c.max_rel_error,
      c.ok() ? "ok" : "MISMATCH");
  if (!c.ok()) failures_.push_back(fmt::format("{} {}: {}", op, output, c.summary()));
  ++checks_;
}

void BackendComparison::print_header() const {
  log("{:<62} {:<13} {:>9} {:>12} {:>12}  {}\n", "op", "output", "values", "max abs err", "max rel err", "result");
}

std::span<const ComparisonCase> comparison_cases() {
  static constexpr ComparisonCase kCases[] = {
      {"gemm", comparison::gemm},
      {"conv", comparison::conv},
      {"augment", comparison::augment},
      {"batchnorm", comparison::batchnorm},
      {"batchnorm_sync", comparison::batchnorm_sync},
      {"batchnorm_pool", comparison::batchnorm_pool},
      {"relu_and_bias", comparison::relu_and_bias},
      {"dropout", comparison::dropout},
      {"flatten", comparison::flatten},
      {"maxpool", comparison::maxpool},
      {"loss_and_metrics", comparison::loss_and_metrics},
      {"optimizer", comparison::optimizer},
      {"training", comparison::training},
  };
  return kCases;
}

void run_comparison(const ComparisonCase& c, BackendComparison& t) {
  Rng rng(2024);
  c.run(t, rng);
}

}  // namespace hdr

#include "engine/train/sharded_evaluation.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hdr {

RowRange share_of(int count, int rank, int ranks) {
  const int lo = int(int64_t(count) * rank / ranks), hi = int(int64_t(count) * (rank + 1) / ranks);
  return {lo, hi - lo};
}

ShardedEvaluation::ShardedEvaluation(Model& model, Backend& backend, Communicator& communicator,
                                     const AugmentParams& scaling)
    : model_(model), backend_(backend), communicator_(communicator), scaling_(scaling) {}

EvalResult ShardedEvaluation::evaluate(const DeviceImages& set, KeepProbabilities keep) {
  if (communicator_.size() == 1) return hdr::evaluate(model_, backend_, set, scaling_, keep);
  const RowRange share = share_of(set.count);
  const EvalResult part = hdr::evaluate(model_, backend_, set, scaling_, keep, kEvalBatch, share);
  std::vector<double> sums{part.loss * part.count, part.accuracy * part.count};
  sums.insert(sums.end(), part.confusion.begin(), part.confusion.end());
  communicator_.sum(sums.data(), sums.size());
  EvalResult r;
  r.count = set.count;
  r.classes = part.classes;
  r.loss = set.count ? sums[0] / set.count : 0.0;
  r.accuracy = set.count ? std::round(sums[1]) / set.count : 0.0;
  for (size_t i = 2; i < sums.size(); ++i) r.confusion.push_back(std::llround(sums[i]));
  if (keep == KeepProbabilities::kYes) {
    r.probabilities.assign(size_t(set.count) * r.classes, 0.0f);
    std::copy(part.probabilities.begin(), part.probabilities.end(),
              r.probabilities.begin() + ptrdiff_t(share.first) * r.classes);
    communicator_.sum(r.probabilities.data(), r.probabilities.size());
  }
  return r;
}

}  // namespace hdr

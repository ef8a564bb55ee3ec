// Evaluation in a data-parallel run: each rank scores its contiguous share of the set and the
// results are summed over the ranks (the metric sums, the confusion counts and the
// probabilities, zero outside each share), so that every rank holds the whole set's result: the
// weights are the same everywhere, the work is not repeated. In one process: evaluate() itself.
#pragma once

#include "engine/backends/backend.h"
#include "engine/distributed/communicator.h"
#include "engine/inference/evaluate.h"
#include "engine/nn/model.h"

namespace hdr {

// Rank `rank`'s contiguous share of `count` rows (of a batch or a set) among `ranks`.
RowRange share_of(int count, int rank, int ranks);

class ShardedEvaluation {
 public:
  ShardedEvaluation(Model& model, Backend& backend, Communicator& communicator, const AugmentParams& scaling);
  RowRange share_of(int count) const { return hdr::share_of(count, communicator_.rank(), communicator_.size()); }
  // The model's current weights scored on `set` (a collective with more than one rank).
  EvalResult evaluate(const DeviceImages& set, KeepProbabilities keep = KeepProbabilities::kNo);

 private:
  Model& model_;
  Backend& backend_;
  Communicator& communicator_;
  const AugmentParams scaling_;
};

}  // namespace hdr

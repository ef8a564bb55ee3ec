// Scoring a model on a labelled set resident on its backend: the validation after each epoch,
// the final test, `hdr eval`, ensembles and reports.
#pragma once

#include "engine/backends/backend.h"
#include "engine/io/config.h"
#include "engine/io/run_records.h"
#include "engine/nn/dataset.h"
#include "engine/nn/model.h"

namespace hdr {

// The batch size evaluation uses when none is given.
inline constexpr int kEvalBatch = 256;

enum class KeepProbabilities : bool { kNo, kYes };

// Has the backend plan the batches evaluating `count` images runs: full ones and the last,
// partial one (Model::prepare). evaluate() calls it; a training run calls it for its sets before
// the first step.
void prepare_evaluation(Model& model, int count, int batch = kEvalBatch);

// The rows of a labelled set one evaluation scores: [first, first + count). A data-parallel run
// gives each rank its share and sums the results (count < 0: to the set's end).
struct RowRange {
  int first = 0, count = -1;
};

// Scores a model (inference mode) on the rows `rows` of a labelled set resident on the backend;
// with kYes the result also holds those images' class probabilities, in the set's order.
EvalResult evaluate(Model& model, Backend& backend, const DeviceImages& data, const AugmentParams& scaling,
                    KeepProbabilities keep = KeepProbabilities::kNo, int batch = kEvalBatch, RowRange rows = {});

// The AugmentParams that only scale and normalise (what evaluation and prediction use).
AugmentParams scaling_only(const DataSpec& data);

}  // namespace hdr

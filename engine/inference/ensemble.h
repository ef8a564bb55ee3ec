// Ensembles: several trained models that classify together by the mean of their class
// probabilities (soft voting). The mean is taken of softmax outputs, not logits: separately
// trained models put their logits on scales of their own, while probabilities are comparable.
// Each member sees the images with the normalisation it was trained with (its own config's
// data mean and std), so members trained with different recipes mix freely; they must only take
// the same input and give the same classes.
//
// Means are summed in double and rounded once to float, so the mean of identical members is the
// member's own output, bit for bit: an ensemble of one model twice scores exactly as the model.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/inference/evaluate.h"
#include "engine/inference/inference.h"

namespace hdr {

// Throws InputError naming both files unless `other` takes the same input shape and gives the
// same number of classes as `first`.
void require_same_task(const TrainedModel& first, const TrainedModel& other);

// The models in these files (at least one), each checked to fit the first (require_same_task).
std::vector<TrainedModel> read_trained_models(std::span<const std::string> paths);

// The element-wise mean of the members' probabilities for the same images (n x classes each,
// all of one size; at least one member).
std::vector<float> mean_probabilities(const std::vector<std::span<const float>>& members);

// The floor under the probability the ensemble's loss takes the log of: float's smallest positive
// value, so a true class that a float softmax rounded to 0 costs 149 ln 2 = 103.3, not infinity.
// A floor such as Keras' 1e-7 would cap each image at 16.1, far below what the single-model loss
// (log-sum-exp of the logits, kernels/softmax_xent.cuh) gives a confident mistake.
inline constexpr double kProbabilityFloor = std::numeric_limits<float>::denorm_min();

// The ensemble's result on a labelled set, from each member's evaluate(..., KeepProbabilities::kYes)
// on that set and its labels (in the set's order): the prediction is the most probable class of
// the mean probabilities (the first on ties, as evaluate's), the loss the mean over images of
// -log(mean probability of the true class), and the result keeps the mean probabilities.
EvalResult ensemble_result(std::span<const EvalResult> members, std::span<const uint8_t> labels);

// Class probabilities from several models on one backend: predict() is the mean of the members'
// Predictor::predict on the same images. The first model fixes input and classes; every other
// must fit it (require_same_task). Not re-entrant, as Predictor.
class EnsemblePredictor {
 public:
  EnsemblePredictor(std::span<const TrainedModel> members, Backend& backend, int max_batch = kPredictBatch);

  int size() const { return int(members_.size()); }
  int64_t input_size() const { return members_.front()->input_size(); }
  int classes() const { return members_.front()->classes(); }

  // As Predictor::predict: n x input_size values in [0, 1] -> n x classes probabilities.
  std::vector<float> predict(std::span<const float> images);

 private:
  std::vector<std::unique_ptr<Predictor>> members_;
};

}  // namespace hdr

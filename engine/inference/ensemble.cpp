#include "engine/inference/ensemble.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "engine/core/errors.h"
#include "kernels/softmax_xent.cuh"

namespace hdr {
namespace {

std::string task_of(const ModelSpec& m) {
  return fmt::format("{}x{}x{} input, {} classes", m.input_h, m.input_w, m.input_c, m.classes);
}

// The members' results must describe the same images and classes as the labels (a caller's
// mistake, not the user's).
void require_same_images(std::span<const EvalResult> members, std::span<const uint8_t> labels) {
  if (members.empty()) throw std::invalid_argument("ensemble_result: no members");
  for (const EvalResult& m : members)
    if (m.count != int(labels.size()) || m.classes != members.front().classes ||
        m.probabilities.size() != size_t(m.count) * size_t(m.classes))
      throw std::invalid_argument(fmt::format(
          "ensemble_result: a member scored {} images of {} classes with {} probabilities, the first {} classes; "
          "{} labels",
          m.count, m.classes, m.probabilities.size(), members.front().classes, labels.size()));
  const int classes = members.front().classes;
  if (std::any_of(labels.begin(), labels.end(), [classes](uint8_t l) { return l >= classes; }))
    throw std::invalid_argument(fmt::format("ensemble_result: a label is not below {} classes", classes));
}

}  // namespace

void require_same_task(const TrainedModel& first, const TrainedModel& other) {
  const ModelSpec &a = first.config.model, &b = other.config.model;
  if (a.input_h != b.input_h || a.input_w != b.input_w || a.input_c != b.input_c || a.classes != b.classes)
    throw InputError(fmt::format("{}: takes {}, but {} takes {}: the models of an ensemble must take the same "
                                 "input and give the same classes",
                                 other.source, task_of(b), first.source, task_of(a)));
}

std::vector<TrainedModel> read_trained_models(std::span<const std::string> paths) {
  if (paths.empty()) throw std::invalid_argument("read_trained_models: no files");
  std::vector<TrainedModel> models;
  for (const std::string& path : paths) {
    models.push_back(read_trained_model(path));
    require_same_task(models.front(), models.back());
  }
  return models;
}

std::vector<float> mean_probabilities(const std::vector<std::span<const float>>& members) {
  if (members.empty()) throw std::invalid_argument("mean_probabilities: no members");
  const size_t size = members.front().size();
  std::vector<double> sum(size, 0.0);
  for (const std::span<const float> m : members) {
    if (m.size() != size)
      throw std::invalid_argument(fmt::format("mean_probabilities: {} values next to {}", m.size(), size));
    for (size_t i = 0; i < size; ++i) sum[i] += m[i];
  }
  std::vector<float> mean(size);
  const double n = double(members.size());
  std::transform(sum.begin(), sum.end(), mean.begin(), [n](double s) { return float(s / n); });
  return mean;
}

EvalResult ensemble_result(std::span<const EvalResult> members, std::span<const uint8_t> labels) {
  require_same_images(members, labels);
  std::vector<std::span<const float>> probabilities;
  for (const EvalResult& m : members) probabilities.emplace_back(m.probabilities);
  EvalResult r;
  r.count = members.front().count;
  r.classes = members.front().classes;
  r.probabilities = mean_probabilities(probabilities);
  r.confusion.assign(size_t(r.classes) * size_t(r.classes), 0);
  double loss = 0.0;
  int64_t correct = 0;
  for (int i = 0; i < r.count; ++i) {
    const float* row = r.probabilities.data() + size_t(i) * size_t(r.classes);
    const int label = labels[size_t(i)];
    const int predicted = row_argmax(row, r.classes);
    loss -= std::log(std::max(double(row[label]), kProbabilityFloor));
    correct += predicted == label;
    ++r.confusion[size_t(label) * size_t(r.classes) + size_t(predicted)];
  }
  r.loss = r.count ? loss / r.count : 0.0;
  r.accuracy = r.count ? double(correct) / r.count : 0.0;
  return r;
}

EnsemblePredictor::EnsemblePredictor(std::span<const TrainedModel> members, Backend& backend, int max_batch) {
  if (members.empty()) throw std::invalid_argument("EnsemblePredictor: no members");
  for (const TrainedModel& m : members) {
    require_same_task(members.front(), m);
    members_.push_back(std::make_unique<Predictor>(m, backend, max_batch));
  }
}

std::vector<float> EnsemblePredictor::predict(std::span<const float> images) {
  std::vector<std::vector<float>> outputs;
  for (const auto& m : members_) outputs.push_back(m->predict(images));
  return mean_probabilities(std::vector<std::span<const float>>(outputs.begin(), outputs.end()));
}

}  // namespace hdr

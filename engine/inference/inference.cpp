#include "engine/inference/inference.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "engine/core/errors.h"

namespace hdr {

TrainedModel read_trained_model(const std::filesystem::path& path) {
  TrainedModel out;
  out.source = path.string();
  out.checkpoint = load_checkpoint(path);
  // The config as resolved when the model was trained, so no default of this hdr changes it.
  out.metadata = parse_run_metadata(out.checkpoint.metadata_json, out.source);
  out.config = checkpoint_config(out.checkpoint, out.metadata, out.source);
  return out;
}

std::unique_ptr<Model> build_model(const TrainedModel& trained, Backend& backend, int max_batch) {
  auto model = std::make_unique<Model>(trained.config.model, backend, max_batch);
  model->load_tensors(trained.checkpoint.tensors, trained.source);
  return model;
}

Predictor::Predictor(const TrainedModel& trained, Backend& backend, int max_batch)
    : backend_(backend),
      model_(build_model(trained, backend, max_batch)),
      mean_(trained.config.data.mean),
      inv_std_(1.0f / trained.config.data.std),
      normalised_(size_t(max_batch) * size_t(model_->input_shape().size())),
      x_(backend, normalised_.size()),
      probabilities_(backend, size_t(max_batch) * size_t(model_->classes())) {
  // A full batch and a single image (serve's usual request) planned before the first request,
  // each for the threads it will run on.
  backend_.attach_thread(threads_for(1));
  model_->prepare(1, false);
  backend_.attach_thread(threads_for(max_batch));
  model_->prepare(max_batch, false);
}

// A single image runs on one thread: its ops are too small to split, and waking a second
// thread for each of them cost more than it computed (hdr bench infer, 2 cores, hdr's bounded
// OpenMP spin: 0.19 ms on two threads, 0.13 ms on one).
int Predictor::threads_for(int images) { return images == 1 ? 1 : 0; }

std::vector<float> Predictor::predict(std::span<const float> images) {
  const int64_t per_image = input_size();
  if (int64_t(images.size()) % per_image != 0)
    throw std::invalid_argument(fmt::format("Predictor::predict: {} values is not a whole number of {}-value images",
                                            images.size(), per_image));
  const int n = int(int64_t(images.size()) / per_image);
  const int classes = model_->classes();
  std::vector<float> out(size_t(n) * size_t(classes));
  for (int first = 0; first < n; first += model_->max_batch()) {
    const int count = std::min(model_->max_batch(), n - first);
    backend_.attach_thread(threads_for(count));
    const size_t values = size_t(count) * size_t(per_image);
    // The normalisation training applied after scaling bytes to [0, 1] (augment_normalise).
    std::transform(images.begin() + int64_t(first) * per_image,
                   images.begin() + int64_t(first) * per_image + int64_t(values), normalised_.begin(),
                   [this](float v) { return (v - mean_) * inv_std_; });
    x_.upload(normalised_.data(), values);
    const Pass pass{backend_, count, false, RandomKey{}, 0};
    const float* logits = model_->forward(pass, x_.data());
    backend_.softmax({.n = count, .classes = classes, .logits = logits, .probs = probabilities_.data()});
    probabilities_.download(out.data() + size_t(first) * size_t(classes), size_t(count) * size_t(classes));
  }
  return out;
}

PredictorPool::PredictorPool(const TrainedModel& trained, int size,
                             const std::function<std::unique_ptr<Backend>()>& make_backend, int max_batch) {
  if (size < 1) throw std::invalid_argument("PredictorPool: size must be at least 1");
  for (int i = 0; i < size; ++i) {
    backends_.push_back(make_backend());
    predictors_.push_back(std::make_unique<Predictor>(trained, *backends_.back(), max_batch));
    free_.push_back(i);
  }
}

PredictorPool::Lease PredictorPool::acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [this] { return !free_.empty(); });
  const int index = free_.back();
  free_.pop_back();
  return Lease(*this, index);
}

void PredictorPool::give_back(int index) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(index);
  }
  available_.notify_one();
}

}  // namespace hdr

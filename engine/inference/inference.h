// Inference on a trained model, shared by eval, predict and serve: read a checkpoint once, build
// models from it on any backend, and turn preprocessed images into class probabilities.
//
// A Model owns its activations, so one model serves one batch at a time. Serving therefore
// keeps a PredictorPool: one Predictor (model + backend) per worker, lent out per request, so
// requests run in parallel and only the hand-over is under a lock.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/backends/device_array.h"
#include "engine/io/checkpoint.h"
#include "engine/io/config.h"
#include "engine/io/run_checkpoint.h"
#include "engine/nn/model.h"

namespace hdr {

// A checkpoint read and checked once, with the config it was trained with (overrides applied).
struct TrainedModel {
  std::string source;  // the file, for messages
  Checkpoint checkpoint;
  RunMetadata metadata;  // who trained it, its history, its recorded test result
  Config config;
};

// Throws InputError naming the file and the defect.
TrainedModel read_trained_model(const std::filesystem::path& path);

// The trained network on `backend`, with activations for batches of up to max_batch.
std::unique_ptr<Model> build_model(const TrainedModel& trained, Backend& backend, int max_batch);

// The batch `hdr predict` (and, by default, a Predictor) runs inference in.
inline constexpr int kPredictBatch = 256;

// Class probabilities for preprocessed images, on one backend; any number of images per call
// (run in batches of max_batch). Not re-entrant: one call at a time.
class Predictor {
 public:
  Predictor(const TrainedModel& trained, Backend& backend, int max_batch = kPredictBatch);

  int64_t input_size() const { return model_->input_shape().size(); }  // values per image
  int classes() const { return model_->classes(); }
  ParamCounts counts() const { return model_->counts(); }

  // images: n x input_size values in [0, 1] (pixel / 255, as MNIST's bytes scale), row-major,
  // n >= 0. Returns n x classes probabilities (softmax of the logits).
  std::vector<float> predict(std::span<const float> images);

 private:
  static int threads_for(int images);  // attach_thread's limit for a batch of `images`

  Backend& backend_;
  std::unique_ptr<Model> model_;
  float mean_, inv_std_;  // the training data's normalisation
  std::vector<float> normalised_;
  DeviceArray<float> x_, probabilities_;
};

// `size` Predictors of one trained model, each on a backend of its own from make_backend.
class PredictorPool {
 public:
  PredictorPool(const TrainedModel& trained, int size, const std::function<std::unique_ptr<Backend>()>& make_backend,
                int max_batch);

  // A Predictor lent to one caller until the Lease goes away.
  class Lease {
   public:
    Lease(PredictorPool& pool, int index) : pool_(&pool), index_(index) {}
    Lease(Lease&& other) noexcept : pool_(std::exchange(other.pool_, nullptr)), index_(other.index_) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_) pool_->give_back(index_);
    }
    Predictor& operator*() const { return *pool_->predictors_[size_t(index_)]; }
    Predictor* operator->() const { return pool_->predictors_[size_t(index_)].get(); }

   private:
    PredictorPool* pool_;
    int index_;
  };

  // A free Predictor; waits while every one is busy.
  Lease acquire();
  int size() const { return int(predictors_.size()); }
  std::string device() const { return backends_.front()->name(); }
  ParamCounts counts() const { return predictors_.front()->counts(); }

 private:
  void give_back(int index);

  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<std::unique_ptr<Predictor>> predictors_;
  std::vector<int> free_;
  std::mutex mutex_;
  std::condition_variable available_;
};

}  // namespace hdr

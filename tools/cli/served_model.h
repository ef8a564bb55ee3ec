// The model `hdr serve` answers with, replaceable while it serves: a load (POST
// /v2/repository/models/{name}/load, as Triton's model repository API has it) reads the model
// file again and swaps in new Predictors. A request holds the pool it started with until it is
// answered, so every request is answered whole by the old model or the new one, and the old
// model goes away with its last request.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "engine/inference/inference.h"
#include "engine/io/preprocess.h"

namespace hdr::cli {

class ServedModel {
 public:
  using BuildPool = std::function<std::shared_ptr<PredictorPool>(const TrainedModel&)>;
  // Reads `file` and builds its pool; what a reload must keep (name, classes, input) is fixed here.
  ServedModel(std::filesystem::path file, BuildPool build);

  // A Predictor of the current model, lent until the Lease goes away.
  class Lease {
   public:
    explicit Lease(std::shared_ptr<PredictorPool> pool) : pool_(std::move(pool)), lease_(pool_->acquire()) {}
    Predictor& operator*() const { return *lease_; }
    Predictor* operator->() const { return lease_.operator->(); }

   private:
    std::shared_ptr<PredictorPool> pool_;  // declared first: outlives the lease
    PredictorPool::Lease lease_;
  };
  Lease acquire() const { return Lease(current()); }

  // Reads the file again and serves it from the next request on. InputError, with the model kept,
  // when the file does not read or is another model (name, classes or input size differ).
  void reload();

  std::shared_ptr<PredictorPool> current() const;
  const std::string& name() const { return name_; }
  int classes() const { return classes_; }
  const DigitGeometry& geometry() const { return geometry_; }
  const std::filesystem::path& file() const { return file_; }
  int64_t loads() const;  // 1 at start, one more per reload

 private:
  std::filesystem::path file_;
  BuildPool build_;
  std::string name_;
  int classes_ = 0;
  DigitGeometry geometry_;
  mutable std::mutex mutex_;
  std::mutex reloading_;  // one reload at a time
  std::shared_ptr<PredictorPool> pool_;
  int64_t loads_ = 1;
};

}  // namespace hdr::cli

// The steps a training run's loop drives (TrainingSteps, training_loop.h) on its model: each
// rank trains on its contiguous slice of every global batch, in the epoch's shuffled order; the
// loss sum and correct count add up on the device. Constructing it initializes the model and
// plans every shape the run will see, so that the first step, evaluation and partial batches
// create nothing.
#pragma once

#include <cstdint>
#include <string>

#include "engine/backends/device_array.h"
#include "engine/train/callbacks/weight_averaging.h"
#include "engine/train/sharded_evaluation.h"
#include "engine/train/train_step.h"
#include "engine/train/training_loop.h"

namespace hdr {

class ModelSteps : public TrainingSteps {
 public:
  ModelSteps(Model& model, Backend& backend, const Config& config, Communicator& communicator,
             ProfilingBackend* profiler, const DeviceImages& train_set, const DeviceImages& val_set,
             const DeviceImages& test_set, ShardedEvaluation& evaluation, WeightAveraging& weights);
  std::string exchange_description() const { return train_step_.exchange_description(); }
  void resume_at(int64_t steps_done) { train_step_.resume_at(steps_done); }

  void begin_epoch(int epoch, const EpochSums& so_far) override;
  void run(int epoch, int batch, float lr) override;
  EpochSums local_sums() override;
  std::string non_finite_parameters() override;
  EpochSums global_sums() override;
  // On the evaluated weights (the average where there is one).
  void validate(EpochRecord& record) override;

 private:
  Model& model_;
  Backend& backend_;
  const TrainSpec& spec_;
  Communicator& communicator_;
  const DeviceImages &train_set_, &val_set_;
  ShardedEvaluation& evaluation_;
  WeightAveraging& weights_;
  TrainStep train_step_;
  DeviceArray<int32_t> order_;
  DeviceArray<double> metrics_;  // the epoch's loss sum and correct count, summed on the device
};

}  // namespace hdr

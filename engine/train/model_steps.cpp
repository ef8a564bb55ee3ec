#include "engine/train/model_steps.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/thousands.h"

namespace hdr {

ModelSteps::ModelSteps(Model& model, Backend& backend, const Config& config, Communicator& communicator,
                       ProfilingBackend* profiler, const DeviceImages& train_set, const DeviceImages& val_set,
                       const DeviceImages& test_set, ShardedEvaluation& evaluation, WeightAveraging& weights)
    : model_(model),
      backend_(backend),
      spec_(config.train),
      communicator_(communicator),
      train_set_(train_set),
      val_set_(val_set),
      evaluation_(evaluation),
      weights_(weights),
      train_step_(model, backend, config),
      order_(backend, size_t(train_set.count)),
      metrics_(backend, 2) {
  model.initialize(spec_.seed);
  model.prepare(evaluation.share_of(std::min(spec_.batch_size, train_set.count)).count, true);
  model.prepare(evaluation.share_of(train_set.count % spec_.batch_size).count, true);
  prepare_evaluation(model, evaluation.share_of(val_set.count).count);
  prepare_evaluation(model, evaluation.share_of(test_set.count).count);
  if (profiler) train_step_.attach_profile(profiler);
  train_step_.attach_communicator(&communicator);
}

void ModelSteps::begin_epoch(int epoch, const EpochSums& so_far) {
  order_.upload(shuffled_indices(train_set_.count, RandomKey{spec_.seed, uint32_t(epoch), kStreamShuffle}));
  metrics_.upload({so_far.loss, so_far.correct});
}

void ModelSteps::run(int epoch, int batch, float lr) {
  const int first = batch * spec_.batch_size;
  const int n = std::min(spec_.batch_size, train_set_.count - first);
  // This rank's contiguous slice of the global batch; dropout stays keyed by the global sample
  // position and augmentation by the dataset row, so no random decision depends on the ranks.
  const RowRange share = evaluation_.share_of(n);
  const int lo = first + share.first;
  train_step_.run(train_set_, order_.data() + lo, share.count, epoch, lo, lr, metrics_.data(), n);
}

// Reading the sums waits for the device, whose stream may be held up by the other ranks (behind
// an NCCL all-reduce): that wait is under the collective timeout.
EpochSums ModelSteps::local_sums() {
  const CommunicatorWait wait(communicator_, "reading the device's metrics");
  const std::vector<double> m = metrics_.to_host();
  return {m[0], m[1]};
}

std::string ModelSteps::non_finite_parameters() {
  const CommunicatorWait wait(communicator_, "scanning the weights for NaN and infinities");
  const size_t count = size_t(model_.counts().trainable);
  std::vector<std::string> bad;
  for (const auto& [values, what] : {std::pair{model_.values(), "weights"}, {model_.grads(), "gradients"}})
    if (const int64_t n = backend_.count_non_finite(values, count); n > 0)
      bad.push_back(fmt::format("{} of {} {} are", with_thousands(n), with_thousands(int64_t(count)), what));
  return fmt::format("{}", fmt::join(bad, " and "));
}

EpochSums ModelSteps::global_sums() {
  {
    const CommunicatorWait wait(communicator_, "waiting for the device at the end of the epoch");
    backend_.synchronize();
  }
  const EpochSums mine = local_sums();
  double m[2] = {mine.loss, mine.correct};
  communicator_.sum(m, 2);
  return {m[0], m[1]};
}

void ModelSteps::validate(EpochRecord& r) {
  if (val_set_.count == 0) return;
  const EvalResult v = weights_.with_evaluated_weights([&] { return evaluation_.evaluate(val_set_); });
  r.val_loss = v.loss;
  r.val_accuracy = v.accuracy;
}

}  // namespace hdr

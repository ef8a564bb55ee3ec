#include "engine/train/train_step.h"

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

#include "engine/inference/evaluate.h"

namespace hdr {

TrainStep::TrainStep(Model& model, Backend& backend, const Config& config)
    : model_(model),
      backend_(backend),
      spec_(config.train),
      augment_(scaling_only(config.data)),
      x_(backend, size_t(config.train.batch_size) * model.input_shape().size()),
      dlogits_(backend, size_t(config.train.batch_size) * model.classes()),
      labels_(backend, size_t(config.train.batch_size)),
      buckets_(size_t(config.train.gradient_bucket_kib) * 1024 / sizeof(float)) {
  if (config.augment.enabled) {
    const AugmentParams& a = config.augment.params;
    augment_.rotation_deg = a.rotation_deg;
    augment_.shift_x = a.shift_x;
    augment_.shift_y = a.shift_y;
    augment_.zoom = a.zoom;
  }
}

void TrainStep::attach_profile(ProfilingBackend* profiler) {
  if (profiler && profiler != &backend_)
    throw std::logic_error("TrainStep::attach_profile: the profiler is not the backend the step runs on");
  profiler_ = profiler;
  model_.attach_profile(profiler);
}

void TrainStep::enter(const char* scope) {
  if (profiler_) profiler_->set_scope(scope);
}

void TrainStep::attach_communicator(Communicator* communicator, std::unique_ptr<GradientExchange> exchange) {
  communicator_ = communicator;
  exchange_ = nullptr;
  if (communicator && communicator->size() > 1)
    exchange_ = exchange ? std::move(exchange) : backend_.make_gradient_exchange(*communicator);
}

std::string TrainStep::exchange_description() const {
  if (!exchange_) return "";
  return exchange_->describe() + (exchange_->overlaps() ? fmt::format(", in buckets of {} KiB during the backward pass",
                                                                      spec_.gradient_bucket_kib)
                                                        : "");
}

void TrainStep::run(const DeviceImages& data, const int32_t* rows, int n, int epoch, int first_sample, float lr,
                    double* metrics, int global_n) {
  // Each rank's gradient is the mean over its n samples: weighted by n / global_n and summed, it
  // is the mean over the global batch (what one process with the whole batch computes, up to the
  // order of the sums).
  const float share = exchange_ ? float(n) / float(global_n > 0 ? global_n : n) : 1.0f;
  const bool overlap = exchange_ && exchange_->overlaps();
  const Model::GradsReady hand_over = [&](size_t first, size_t count) {
    buckets_.add(*exchange_, model_.grads() + first, count, share);
  };
  const BatchSync batch_sync{exchange_.get(), global_n};
  const BatchSync* sync = synced_batch_norm() ? &batch_sync : nullptr;
  if (n > 0) {
    enter("data");
    backend_.augment({.params = augment_,
                      .key = RandomKey{spec_.seed, uint32_t(epoch), kStreamAugment},
                      .images = data.images.data(),
                      .h = data.h,
                      .w = data.w,
                      .indices = rows,
                      .n = n,
                      .out = x_.data()});
    backend_.gather_labels({.labels = data.labels.data(), .indices = rows, .n = n, .out = labels_.data()});
    const Pass pass{backend_, n, true, RandomKey{spec_.seed, uint32_t(epoch), 0}, first_sample, sync};
    const float* logits = model_.forward(pass, x_.data());
    if (observer_) observer_->logits(logits, n, model_.classes());
    enter("loss");
    backend_.softmax_xent({.n = n,
                           .classes = model_.classes(),
                           .logits = logits,
                           .labels = labels_.data(),
                           .smoothing = spec_.label_smoothing,
                           .dlogits = dlogits_.data(),
                           .metrics = metrics});
    model_.backward(pass, x_.data(), dlogits_.data(), overlap ? &hand_over : nullptr);
    if (observer_) observer_->gradients(model_.grads(), size_t(model_.counts().trainable));
  } else {  // a rank whose slice of a small last batch is empty contributes nothing, in every round
    backend_.fill_zero(model_.grads(), size_t(model_.counts().trainable) * sizeof(float));
    model_.join_step(sync, overlap ? &hand_over : nullptr);
  }
  if (exchange_) finish_exchange(share, overlap);
  ++step_;
  enter("optimizer");
  backend_.optimizer_update({.p = spec_.optimizer,
                             .lr = lr,
                             .step = step_,
                             .segments = model_.segments().data(),
                             .num_segments = int(model_.segments().size()),
                             .params = model_.values(),
                             .grads = model_.grads(),
                             .m = model_.moment1(),
                             .v = model_.moment2()});
  if (profiler_) profiler_->end_step();
}

// The gradients not handed over during the backward pass (all of them, where the exchange does not
// overlap; else the last bucket), the moving statistics averaged (synchronised ones are the same
// everywhere already), the host held back until the previous step's sums are done, and the
// optimizer made to wait for this step's.
void TrainStep::finish_exchange(float share, bool overlapped) {
  enter("gradient exchange");
  if (overlapped)
    buckets_.flush(*exchange_);
  else
    exchange_->sum(model_.grads(), size_t(model_.counts().trainable), share);
  if (model_.counts().non_trainable > 0 && !synced_batch_norm())
    exchange_->average(model_.state(), size_t(model_.counts().non_trainable));
  exchange_->wait();
  exchange_->finish();
}

}  // namespace hdr

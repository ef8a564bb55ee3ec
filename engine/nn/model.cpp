#include "engine/nn/model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "engine/core/errors.h"
#include "engine/core/thousands.h"
#include "engine/nn/layers/layers.h"
#include "kernels/philox.cuh"

namespace hdr {

Model::Model(const ModelSpec& spec, Backend& backend, int max_batch)
    : spec_(spec), backend_(backend), max_batch_(max_batch) {
  if (spec.layers.empty()) throw InputError("the model has no layers");
  if (spec.layers.front().type == LayerType::kBatchNorm)  // its backward has no input gradient to write
    throw InputError(fmt::format("[layer.{}] a batchnorm layer cannot come first: normalise the input with [data] "
                                 "mean and std instead",
                                 spec.layers.front().name));
  Shape shape = input_shape();
  int64_t largest = shape.size();
  // A conv/dense ReLU followed by a plain batch norm is folded into it (y = bn(relu(x))).
  const size_t count = spec.layers.size();
  std::vector<bool> relu_folded(count, false);
  for (size_t i = 0; i + 1 < count; ++i) {
    const LayerSpec& l = spec.layers[i];
    const LayerSpec& next = spec.layers[i + 1];
    relu_folded[i] = (l.type == LayerType::kConv2D || l.type == LayerType::kDense) &&
                     l.activation == Activation::kRelu && next.type == LayerType::kBatchNorm &&
                     next.activation == Activation::kNone;
  }
  for (size_t i = 0; i < count; ++i) {
    LayerSpec ls = spec.layers[i];
    if (relu_folded[i]) ls.activation = Activation::kNone;
    const bool fused_relu = i > 0 && relu_folded[i - 1];
    layers_.push_back(make_layer(ls, int(i), shape, fused_relu));
    layers_.back()->set_input_layout(backend.activation_layout(shape.c, int64_t(shape.h) * shape.w));
    shape = layers_.back()->output_shape();
    largest = std::max(largest, shape.size());
  }
  if (shape != Shape{spec.classes, 1, 1})
    throw InputError(fmt::format("the last layer outputs {} but the model has {} classes", shape.str(), spec.classes));

  size_t trainable = 0, state = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    for (const ParamInfo& p : layers_[i]->params()) {
      Slot s{int(i), p, p.trainable, p.trainable ? trainable : state};
      (p.trainable ? trainable : state) += size_t(p.size());
      (p.trainable ? counts_.trainable : counts_.non_trainable) += p.size();
      // Weight decay and L2 act on conv/dense kernels only (not biases, not batch-norm scale/shift).
      const bool kernel = p.init == ParamInit::kGlorotUniform || p.init == ParamInit::kHeNormal;
      if (p.trainable) segments_.push_back(ParamSegment{s.offset, size_t(p.size()), kernel, p.l2});
      slots_.push_back(std::move(s));
    }
  }
  values_ = DeviceArray<float>(backend, trainable);
  grads_ = DeviceArray<float>(backend, trainable);
  moment1_ = DeviceArray<float>(backend, trainable);
  moment2_ = DeviceArray<float>(backend, trainable);
  state_ = DeviceArray<float>(backend, state);
  reset_optimizer_state();

  grad_ranges_.assign(layers_.size(), {0, 0});
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::vector<float*> vals, grads;
    for (const Slot& s : slots_) {
      if (s.layer != int(i)) continue;
      vals.push_back((s.trainable ? values_.data() : state_.data()) + s.offset);
      grads.push_back(s.trainable ? grads_.data() + s.offset : nullptr);
      if (!s.trainable) continue;  // a layer's trainable slots are consecutive in grads()
      auto& [first, size] = grad_ranges_[i];
      if (size == 0) first = s.offset;
      size += size_t(s.info.size());
    }
    layers_[i]->bind(std::move(vals), std::move(grads));
    layers_[i]->allocate_workspace(backend, max_batch);
    activations_.emplace_back(backend, size_t(max_batch) * layers_[i]->output_shape().size());
  }
  fused_.assign(layers_.size(), false);
  for (size_t i = 0; i + 1 < layers_.size(); ++i)
    fused_[i] = dynamic_cast<BatchNorm*>(layers_[i].get()) && dynamic_cast<MaxPool2D*>(layers_[i + 1].get());
  const auto* first = dynamic_cast<const Conv2D*>(layers_[0].get());
  first_block_ = first && !first->applies_relu() && layers_.size() > 2 && fused_[1];
  grad_a_ = DeviceArray<float>(backend, size_t(max_batch) * largest);
  grad_b_ = DeviceArray<float>(backend, size_t(max_batch) * largest);
}

void Model::prepare(int n, bool training) {
  if (n <= 0) return;
  if (n > max_batch_) throw std::logic_error(fmt::format("prepare: batch {} exceeds the model's {}", n, max_batch_));
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->prepare(backend_, n, training, i > 0);
}

std::string Model::summary() const {
  std::string out = fmt::format("Model: \"{}\"\n", spec_.name);
  const std::string rule(72, '-');
  out += rule + "\n" + fmt::format("{:<34}{:<22}{:>16}\n", "Layer (type)", "Output Shape", "Param #") + rule + "\n";
  for (size_t i = 0; i < layers_.size(); ++i) {
    int64_t n = 0;
    for (const ParamInfo& p : layers_[i]->params()) n += p.size();
    out += fmt::format("{:<34}{:<22}{:>16}\n", fmt::format("{} ({})", layers_[i]->name(), layers_[i]->kind()),
                       layers_[i]->output_shape().str(), with_thousands(n));
  }
  out += rule + "\n";
  out += fmt::format("Total params: {}\nTrainable params: {}\nNon-trainable params: {}\n",
                     with_thousands(counts_.total()), with_thousands(counts_.trainable),
                     with_thousands(counts_.non_trainable));
  return out;
}

namespace {

// One value of a parameter's initial distribution, a pure function of (seed, param, element).
float initial_value(const ParamInfo& p, uint64_t seed, uint32_t param_index, int64_t element) {
  const RandomKey key{seed, 0, kStreamInit};
  switch (p.init) {
    case ParamInit::kZeros: return 0.0f;
    case ParamInit::kOnes: return 1.0f;
    case ParamInit::kGlorotUniform: {
      const float limit = std::sqrt(6.0f / float(p.fan_in + p.fan_out));
      const Philox4 r = random_words(key, param_index, uint32_t(element / 4));
      return (2.0f * uniform01(r.v[element % 4]) - 1.0f) * limit;
    }
    case ParamInit::kHeNormal: {
      // Keras: truncated normal (|z| <= 2), stddev corrected by the truncation's 0.8796.
      const float stddev = std::sqrt(2.0f / float(p.fan_in)) / 0.87962566103423978f;
      for (uint32_t attempt = 0;; ++attempt) {
        const Philox4 r = random_words(key, param_index, uint32_t(element) + (attempt << 24));
        const float u1 = 1.0f - uniform01(r.v[0]), u2 = uniform01(r.v[1]);  // u1 in (0, 1]
        const float z = std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318530718f * u2);
        if (std::fabs(z) <= 2.0f) return z * stddev;
      }
    }
  }
  return 0.0f;
}

}  // namespace

void Model::initialize(uint64_t seed) {
  std::vector<float> values(values_.size()), state(state_.size());
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    float* dst = (s.trainable ? values.data() : state.data()) + s.offset;
    for (int64_t e = 0; e < s.info.size(); ++e) dst[e] = initial_value(s.info, seed, i, e);
  }
  values_.upload(values);
  state_.upload(state);
  reset_optimizer_state();
}

void Model::reset_optimizer_state() {
  moment1_.zero();
  moment2_.zero();
  grads_.zero();
}

int64_t Model::forward_flops_per_image() const {
  int64_t flops = 0;
  for (const auto& layer : layers_) flops += layer->forward_flops();
  return flops;
}

double Model::performed_flops_per_image(int n, bool training) const {
  double flops = 0;
  for (size_t i = 0; i < layers_.size(); ++i) flops += layers_[i]->performed_flops(backend_, n, training, i > 0);
  return flops;
}

void Model::attach_profile(ProfilingBackend* profiler) {
  profiler_ = profiler;
  scopes_.clear();
  if (!profiler) return;
  // A fused batch norm + max pooling runs as one op, under both layers' names.
  for (size_t i = 0; i < layers_.size(); ++i) {
    const bool fused = fused_[i];
    const std::string name = fused ? layers_[i]->name() + " + " + layers_[i + 1]->name() : layers_[i]->name();
    scopes_.push_back({name + " forward", name + " backward"});
    if (fused) {  // the pooling's index, skipped
      scopes_.push_back(scopes_.back());
      ++i;
    }
  }
  if (first_block_)
    scopes_[0][1] = fmt::format("{} + {} + {} backward", layers_[0]->name(), layers_[1]->name(), layers_[2]->name());
}

void Model::enter(size_t layer, bool backward, const Pass& pass) {
  if (profiler_ && pass.training) profiler_->set_scope(backward ? scopes_[layer][1] : scopes_[layer][0]);
}

const float* Model::forward(const Pass& pass, const float* x) {
  const float* in = x;
  size_t i = 0;
  if (first_block_ && !pass.training) {
    in = forward_first_block(pass, x);
    i = 3;
  }
  for (; i < layers_.size(); ++i) {
    if (!pass.training && layers_[i]->identity_at_inference()) continue;  // no copy through dropout
    enter(i, false, pass);
    if (fused_[i]) {  // batch norm + max pooling in one op
      float* out = activations_[i + 1].data();
      static_cast<BatchNorm&>(*layers_[i])
          .forward_pooled(pass, static_cast<MaxPool2D&>(*layers_[i + 1]), in, activations_[i].data(), out);
      in = out;
      ++i;
      continue;
    }
    float* out = activations_[i].data();
    layers_[i]->forward(pass, in, out);
    in = out;
  }
  return in;
}

// Backward's order: from the last layer down, a batch norm and the max pooling after it as one
// step (first, last), and the first block as one; after each step, the gradients of its layers
// are ready, last layer first.
template <class Step>
void Model::walk_backward(Step&& step, const GradsReady* ready) {
  for (size_t i = layers_.size(); i-- > 0;) {
    const size_t first = first_block_ && i == 2 ? 0 : i > 0 && fused_[i - 1] ? i - 1 : i;
    step(first, i);
    if (ready)
      for (size_t l = i + 1; l-- > first;)
        if (grad_ranges_[l].second > 0) (*ready)(grad_ranges_[l].first, grad_ranges_[l].second);
    i = first;
  }
}

void Model::backward(const Pass& pass, const float* x, float* dlogits, const GradsReady* ready) {
  float* dy = dlogits;
  walk_backward(
      [&](size_t first, size_t last) {
        const float* in = first == 0 ? x : activations_[first - 1].data();
        float* dx = first == 0 ? nullptr : dy == grad_a_.data() ? grad_b_.data() : grad_a_.data();
        enter(first, true, pass);
        if (first_block_ && first == 0)
          backward_first_block(pass, x, dy, dy == grad_a_.data() ? grad_b_.data() : grad_a_.data());
        else if (last != first)  // batch norm + max pooling
          static_cast<BatchNorm&>(*layers_[first])
              .backward_pooled(pass, static_cast<MaxPool2D&>(*layers_[last]), in, dy, activations_[first].data(), dx);
        else
          layers_[last]->backward(pass, in, activations_[last].data(), dy, dx);
        dy = dx;
      },
      ready);
}

const float* Model::forward_first_block(const Pass& pass, const float* x) {
  auto& conv = static_cast<Conv2D&>(*layers_[0]);
  auto& bn = static_cast<BatchNorm&>(*layers_[1]);
  auto& pool = static_cast<MaxPool2D&>(*layers_[2]);
  float* conv_out = activations_[0].data();
  float* y = activations_[2].data();
  pass.backend.conv_bn_relu_maxpool_forward_infer(
      {.conv = conv.forward_args(pass.n, x, conv_out),
       .block = bn.pooled_infer_args(pass, pool, conv_out, activations_[1].data(), y)});
  return y;
}

// Synchronised batch norm adjusts the batch norm's gradient before the convolution reads it:
// the two ops then.
void Model::backward_first_block(const Pass& pass, const float* x, const float* dy, float* scratch) {
  auto& conv = static_cast<Conv2D&>(*layers_[0]);
  auto& bn = static_cast<BatchNorm&>(*layers_[1]);
  auto& pool = static_cast<MaxPool2D&>(*layers_[2]);
  const float* conv_out = activations_[0].data();
  if (pass.sync) {
    bn.backward_pooled(pass, pool, conv_out, dy, activations_[1].data(), scratch);
    conv.backward(pass, x, conv_out, scratch, nullptr);
    return;
  }
  pass.backend.conv_bn_relu_maxpool_backward(
      {.block = bn.pooled_backward_args(pass, pool, conv_out, dy, activations_[1].data(), scratch),
       .conv = conv.weight_grad_args(pass.n, x, scratch)});
}

void Model::join_step(const BatchSync* sync, const GradsReady* ready) {
  if (sync)
    for (const auto& layer : layers_)
      if (auto* bn = dynamic_cast<BatchNorm*>(layer.get())) bn->join_forward(*sync);
  walk_backward(
      [&](size_t first, size_t last) {
        for (size_t l = first; l <= last; ++l)
          if (auto* bn = sync ? dynamic_cast<BatchNorm*>(layers_[l].get()) : nullptr) bn->join_backward(*sync);
      },
      ready);
}

Model::Snapshot Model::snapshot() const { return Snapshot{values_.to_host(), state_.to_host()}; }

void Model::restore(const Snapshot& s) {
  values_.upload(s.values);
  state_.upload(s.state);
}

std::vector<NamedTensor> Model::named_tensors(const std::string& prefix, const float* values,
                                              const float* state) const {
  std::vector<NamedTensor> out;
  for (const Slot& slot : slots_) {
    if (!slot.trainable && !state) continue;
    const float* src = (slot.trainable ? values : state) + slot.offset;
    out.push_back(NamedTensor{prefix + layers_[slot.layer]->name() + "." + slot.info.name, slot.info.shape,
                              std::vector<float>(src, src + slot.info.size())});
  }
  return out;
}

void Model::copy_from_named(const std::vector<NamedTensor>& tensors, const std::string& prefix, float* values,
                            float* state, const std::string& source) const {
  size_t expected = 0;
  for (const Slot& slot : slots_) {
    if (!slot.trainable && !state) continue;
    ++expected;
    const std::string name = prefix + layers_[slot.layer]->name() + "." + slot.info.name;
    const auto it = std::find_if(tensors.begin(), tensors.end(), [&](const NamedTensor& t) { return t.name == name; });
    if (it == tensors.end()) throw InputError(fmt::format("{}: tensor '{}' is missing", source, name));
    if (it->shape != slot.info.shape || int64_t(it->data.size()) != slot.info.size())
      throw InputError(fmt::format("{}: tensor '{}' has shape [{}], but the model's config makes it [{}]", source, name,
                                   fmt::join(it->shape, ", "), fmt::join(slot.info.shape, ", ")));
    std::copy(it->data.begin(), it->data.end(), (slot.trainable ? values : state) + slot.offset);
  }
  // Under the empty prefix: the names without a '/' (the others are a run's training state).
  const size_t found = size_t(std::count_if(tensors.begin(), tensors.end(), [&](const NamedTensor& t) {
    return prefix.empty() ? t.name.find('/') == std::string::npos : t.name.starts_with(prefix);
  }));
  if (found != expected)
    throw InputError(fmt::format("{}: holds {} {}tensors, the model has {}", source, found,
                                 prefix.empty() ? "" : "'" + prefix + "' ", expected));
}

std::vector<NamedTensor> Model::tensors() const { return tensors(snapshot(), ""); }

std::vector<NamedTensor> Model::tensors(const Snapshot& s, const std::string& prefix) const {
  return named_tensors(prefix, s.values.data(), s.state.data());
}

Model::Snapshot Model::snapshot_from(const std::vector<NamedTensor>& tensors, const std::string& prefix,
                                     const std::string& source) const {
  Snapshot s{std::vector<float>(values_.size()), std::vector<float>(state_.size())};
  copy_from_named(tensors, prefix, s.values.data(), s.state.data(), source);
  return s;
}

void Model::load_tensors(const std::vector<NamedTensor>& tensors, const std::string& source) {
  restore(snapshot_from(tensors, "", source));
}

std::vector<NamedTensor> Model::optimizer_tensors() const {
  std::vector<NamedTensor> out = named_tensors("moment1/", moment1_.to_host().data(), nullptr);
  std::vector<NamedTensor> second = named_tensors("moment2/", moment2_.to_host().data(), nullptr);
  out.insert(out.end(), std::make_move_iterator(second.begin()), std::make_move_iterator(second.end()));
  return out;
}

std::vector<NamedTensor> Model::trainable_tensors(const std::vector<float>& flat) const {
  if (flat.size() != values_.size())
    throw std::logic_error(fmt::format("trainable_tensors: {} values for {} parameters", flat.size(), values_.size()));
  return named_tensors("", flat.data(), nullptr);
}

void Model::load_optimizer_tensors(const std::vector<NamedTensor>& tensors, const std::string& source) {
  std::vector<float> m(moment1_.size()), v(moment2_.size());
  copy_from_named(tensors, "moment1/", m.data(), nullptr, source);
  copy_from_named(tensors, "moment2/", v.data(), nullptr, source);
  moment1_.upload(m);
  moment2_.upload(v);
}

}  // namespace hdr

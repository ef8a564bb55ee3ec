#include "engine/inference/evaluate.h"

#include <algorithm>
#include <optional>

#include "engine/backends/device_array.h"

namespace hdr {

AugmentParams scaling_only(const DataSpec& data) {
  AugmentParams p;
  p.mean = data.mean;
  p.inv_std = 1.0f / data.std;
  return p;
}

void prepare_evaluation(Model& model, int count, int batch) {
  batch = std::min(batch, model.max_batch());
  model.prepare(std::min(batch, count), false);
  model.prepare(count % batch, false);
}

EvalResult evaluate(Model& model, Backend& backend, const DeviceImages& data, const AugmentParams& scaling,
                    KeepProbabilities keep, int batch, RowRange rows) {
  const int begin = std::clamp(rows.first, 0, data.count);
  const int count = rows.count < 0 ? data.count - begin : std::min(rows.count, data.count - begin);
  prepare_evaluation(model, count, batch);
  batch = std::min(batch, model.max_batch());
  const int classes = model.classes();
  const Shape in = model.input_shape();
  DeviceArray<float> x(backend, size_t(batch) * in.size());
  DeviceArray<uint8_t> labels(backend, size_t(batch));
  DeviceArray<int64_t> confusion(backend, size_t(classes) * classes);
  DeviceArray<double> metrics(backend, 2);
  confusion.zero();
  metrics.zero();
  EvalResult r;
  std::optional<DeviceArray<float>> probabilities;
  if (keep == KeepProbabilities::kYes) {
    probabilities.emplace(backend, size_t(batch) * classes);
    r.probabilities.resize(size_t(count) * classes);
  }
  for (int done = 0; done < count; done += batch) {
    const int n = std::min(batch, count - done);
    const int32_t* batch_rows = data.rows.data() + begin + done;
    backend.augment({.params = scaling,
                     .images = data.images.data(),
                     .h = data.h,
                     .w = data.w,
                     .indices = batch_rows,
                     .n = n,
                     .out = x.data()});
    backend.gather_labels({.labels = data.labels.data(), .indices = batch_rows, .n = n, .out = labels.data()});
    const Pass pass{backend, n, false, RandomKey{}, begin + done};
    const float* logits = model.forward(pass, x.data());
    backend.evaluate_batch({.n = n,
                            .classes = classes,
                            .logits = logits,
                            .labels = labels.data(),
                            .confusion = confusion.data(),
                            .metrics = metrics.data()});
    if (probabilities) {
      backend.softmax({.n = n, .classes = classes, .logits = logits, .probs = probabilities->data()});
      probabilities->download(r.probabilities.data() + size_t(done) * classes, size_t(n) * classes);
    }
  }
  const std::vector<double> m = metrics.to_host();
  r.count = count;
  r.classes = classes;
  r.loss = count ? m[0] / count : 0.0;
  r.accuracy = count ? m[1] / count : 0.0;
  r.confusion = confusion.to_host();
  return r;
}

}  // namespace hdr

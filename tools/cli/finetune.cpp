#include "tools/cli/finetune.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "engine/core/errors.h"
#include "engine/inference/evaluate.h"
#include "engine/io/corrections.h"
#include "kernels/types.h"

namespace hdr::cli {

Config finetune_config(const TrainedModel& start, const std::vector<std::string>& overrides) {
  const bool epochs_set = std::any_of(overrides.begin(), overrides.end(),
                                      [](const std::string& o) { return override_key(o) == "train.epochs"; });
  const bool rate_set = std::any_of(overrides.begin(), overrides.end(),
                                    [](const std::string& o) { return override_key(o) == "train.learning_rate"; });
  Config config = parse_config(resolved_config_text(start.config), start.source + " (its config)", overrides);
  if (!epochs_set) config.train.epochs = 1;
  if (!rate_set) config.train.learning_rate = start.config.train.learning_rate / 10;
  return config;
}

namespace {

void append_rows(LabelledImages& to, const LabelledImages& from, const std::vector<int32_t>& rows) {
  const size_t per_image = size_t(from.images.rows) * size_t(from.images.cols);
  for (int32_t r : rows) {
    const auto first = from.images.pixels.begin() + std::ptrdiff_t(size_t(r) * per_image);
    to.images.pixels.insert(to.images.pixels.end(), first, first + std::ptrdiff_t(per_image));
    to.labels.push_back(from.labels[size_t(r)]);
    ++to.images.count;
  }
}

}  // namespace

ExtraData mix_in_extra(Datasets& data, const std::string& dir, const Config& config, double share, double holdout) {
  const int side = data.train.images.rows;
  const LabelledImages extra = read_corrections(dir, side, config.model.classes);
  ExtraData out{dir, extra.count(), 0, 0, {}};
  if (extra.count() == 0)
    throw InputError(
        fmt::format("--data-extra {}: no corrections there (hdr serve --corrections {} stores them)", dir, dir));
  const std::vector<int32_t> order = shuffled_indices(extra.count(), RandomKey{config.train.seed, 1, kStreamSplit});
  const int held = int(std::lround(holdout * extra.count()));
  if (extra.count() - held < 1)
    throw InputError(fmt::format("--data-extra {}: {} correction{} and --extra-holdout {} leave none to train on", dir,
                                 extra.count(), extra.count() == 1 ? "" : "s", holdout));
  out.held_out = LabelledImages{{0, side, side, {}}, {}, config.model.classes};
  append_rows(out.held_out, extra, {order.begin(), order.begin() + held});
  const std::vector<int32_t> train_rows(order.begin() + held, order.end());
  out.trained_on = int(train_rows.size());
  // copies x trained_on / (mnist + copies x trained_on) = share.
  out.copies = std::max(1, int(std::lround(share / (1 - share) * data.train.count() / out.trained_on)));
  for (int c = 0; c < out.copies; ++c) append_rows(data.train, extra, train_rows);
  return out;
}

std::optional<double> accuracy_of(const TrainedModel& model, Backend& backend, const LabelledImages& set) {
  if (set.count() == 0) return std::nullopt;
  const auto network = build_model(model, backend, kEvalBatch);
  return evaluate(*network, backend, DeviceImages(backend, set), scaling_only(model.config.data)).accuracy;
}

}  // namespace hdr::cli

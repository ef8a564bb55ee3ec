// `hdr train --finetune MODEL [--data-extra DIR]`: continues from a trained model's weights with
// its config (one epoch at a tenth of its learning rate unless --set says otherwise), on MNIST
// mixed with the corrections users sent to `hdr serve --corrections DIR`, and reports what it
// changed on the corrections it held out and on the MNIST test set.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/backends/backend.h"
#include "engine/inference/inference.h"
#include "engine/nn/dataset.h"

namespace hdr::cli {

// The model's own config with `overrides`; train.epochs 1 and a tenth of its learning rate where
// the overrides leave them.
Config finetune_config(const TrainedModel& start, const std::vector<std::string>& overrides);

struct ExtraData {
  std::string dir;
  int stored = 0, trained_on = 0, copies = 0;
  LabelledImages held_out;
};

// Splits the corrections in `dir` into a held-out share and the rest, which is appended to
// data.train `copies` times so that it makes up `share` of the training images (each batch holds
// that share on average). InputError when the folder holds none or they do not fit the model.
ExtraData mix_in_extra(Datasets& data, const std::string& dir, const Config& config, double share, double holdout);

// Accuracy in [0, 1] of a trained model on a labelled set (nullopt for an empty set).
std::optional<double> accuracy_of(const TrainedModel& model, Backend& backend, const LabelledImages& set);

}  // namespace hdr::cli

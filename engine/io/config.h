// The run configuration: an INI file (parsed by inih) with sections data, model, augment, train,
// early_stopping, lr_schedule, and one [layer.NAME] section per layer in file order. Every key
// can be overridden with `--set section.key=value`. Unknown sections/keys, malformed numbers,
// out-of-range values and missing required keys are InputErrors naming file, line and key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernels/types.h"

namespace hdr {

enum class LayerType { kConv2D, kDense, kBatchNorm, kMaxPool, kDropout, kFlatten, kRelu };
enum class Activation { kNone, kRelu, kSoftmax };
enum class Initializer { kGlorotUniform, kHeNormal };

struct LayerSpec {
  std::string name;  // from [layer.NAME]
  LayerType type = LayerType::kDense;
  int line = 0;  // line of the section header, for messages
  // conv2d
  int filters = 0, kernel = 3, stride = 1;
  bool same_padding = false;  // padding = valid | same
  // dense
  int units = 0;
  // conv2d / dense / batchnorm (batchnorm: activation = relu means relu after normalising)
  Activation activation = Activation::kNone;
  Initializer init = Initializer::kGlorotUniform;
  float l2 = 0.0f;  // kernel regularizer, added to the gradient as 2 * l2 * w
  // maxpool
  int pool = 2;  // window; stride defaults to the window
  int pool_stride = 0;
  // dropout
  float rate = 0.0f;
  // batchnorm
  float momentum = 0.99f, eps = 1e-3f;
};

struct ModelSpec {
  std::string name;                             // [model] name
  int input_h = 28, input_w = 28, input_c = 1;  // [model] input = 28x28x1
  int classes = 10;
  std::vector<LayerSpec> layers;
};

struct DataSpec {
  std::string dir = "data/mnist";
  float validation_split = 0.2f;  // fraction of the training set held out (seed 000: 48k / 12k)
  int train_limit = 0;            // use only the first N training images (0: all)
  float mean = 0.0f, std = 1.0f;  // after scaling to [0, 1]: (x - mean) / std
};

struct AugmentSpec {
  bool enabled = false;
  AugmentParams params;  // rotation (deg), width_shift, height_shift, zoom
};

struct TrainSpec {
  int epochs = 20, batch_size = 64;
  float learning_rate = 1e-3f;
  OptimizerParams optimizer;  // optimizer = adam | adamw | sgd, beta1, beta2, epsilon, momentum, nesterov, weight_decay
  uint64_t seed = 42;
  int checkpoint_every = 1;      // write the latest checkpoint (model.hdr) after every N-th epoch
  float label_smoothing = 0.0f;  // the loss's target: (1 - s) * onehot + s / classes
  // Decay of the exponential moving average of the weights (0: off). When on, validation, the
  // test and every saved model use the averaged weights; training steps use the live ones.
  float ema = 0.0f;
  // Data-parallel runs (mpirun -np N): batch-norm statistics over the global batch instead of
  // each rank's slice, and how long a collective may wait for the other ranks (0: forever).
  bool sync_batchnorm = false;
  int collective_timeout = 300;   // seconds
  int gradient_bucket_kib = 256;  // an overlapping exchange sums gradients in buckets this size
};

struct EarlyStoppingSpec {
  bool enabled = false;
  std::string monitor = "val_loss";  // val_loss | val_accuracy | loss | accuracy
  int patience = 5;
  float min_delta = 0.0f;
  bool restore_best_weights = true;
};

enum class ScheduleKind { kConstant, kPlateau, kStep, kCosine, kOneCycle };
struct LrScheduleSpec {
  ScheduleKind kind = ScheduleKind::kConstant;  // type = constant | plateau | step | cosine | onecycle
  std::string monitor = "val_loss";             // plateau
  float factor = 0.5f;                          // plateau, step (the multiplier)
  int patience = 3;                             // plateau
  float min_delta = 1e-4f;                      // plateau (Keras default)
  int cooldown = 0;                             // plateau
  float min_lr = 0.0f;                          // plateau, cosine (the floor)
  int step_epochs = 10;                         // step: multiply by factor every step_epochs
  float max_lr = 0.0f;                          // onecycle peak (0: 10 x learning_rate)
  float warmup_fraction = 0.3f;                 // onecycle: share of steps spent rising
};

struct Config {
  std::string source;                  // file name (or "<embedded cnn_bn>") for messages
  std::string text;                    // the INI text as read, stored in checkpoints
  std::vector<std::string> overrides;  // the --set arguments applied
  ModelSpec model;
  DataSpec data;
  AugmentSpec augment;
  TrainSpec train;
  EarlyStoppingSpec early_stopping;
  LrScheduleSpec lr_schedule;
};

// Parses INI text; `source` names it in messages. overrides are "section.key=value" strings.
Config parse_config(const std::string& text, const std::string& source, const std::vector<std::string>& overrides = {});
Config load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides = {});
// The embedded default: configs/cnn_bn.ini (seed 000's network and recipe), compiled in.
Config default_config(const std::vector<std::string>& overrides = {});
// The embedded configs/speedrun.ini: the fastest recipe to 99% (hdr bench time-to-accuracy).
Config speedrun_config(const std::vector<std::string>& overrides = {});

// Every key of `config` with the value this hdr resolved for it, defaults included, as
// "section.key" (layers: "layer.NAME.key") in file order. What a checkpoint stores, so that a
// default changed in a later hdr cannot change an old model.
std::vector<std::pair<std::string, std::string>> resolved_entries(const Config& config);

// resolved_entries as INI text, one section per block; parsing it gives back the same entries
// whatever this hdr's defaults. Throws InputError naming a value that would not read back the
// same (a string value with a newline or an inline ';' comment) or that is not valid UTF-8.
std::string resolved_config_text(const Config& config);

// One key whose value differs between two configs ("" where a config lacks the key: a layer
// only one of them has).
struct ConfigChange {
  std::string key, before, after;
};
std::vector<ConfigChange> config_changes(const Config& before, const Config& after);
// A ConfigChange value as messages show it: the value, or "(absent)".
std::string shown_config_value(const std::string& value);

// Whether `text` is well-formed UTF-8 (what the JSON of a checkpoint's metadata can hold).
bool is_valid_utf8(std::string_view text);

// The config's schema as its reference shows it (`hdr config --reference`, docs/config.md), drawn
// from the tables the parser uses: every section in file order, [layer.NAME] after [model].
struct ConfigKeyInfo {
  std::string key;
  std::string layer_types;  // [layer.NAME] keys: the layer types the key applies to; else ""
  std::string accepts;      // "1..10000", "[0, 1)", "adam, adamw, sgd", ...
  std::string default_value;
  std::string description;
};
struct ConfigSectionInfo {
  std::string name;  // "train", "layer.NAME"
  std::string description;
  std::vector<ConfigKeyInfo> keys;
};
std::vector<ConfigSectionInfo> config_reference();

// The "section.key" a --set argument names ("" when it names none).
std::string override_key(const std::string& arg);

}  // namespace hdr

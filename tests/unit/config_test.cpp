// Config parsing: the five reference networks parse and have the parameter counts their
// projects report (counted here with a shape inference of the test's own), the embedded default
// is configs/cnn_bn.ini, and every kind of bad input is an InputError naming file, line and key.
#include "engine/io/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/errors.h"
#include "engine/io/default_config.h"
#include "tests/expect_input_error.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

using test::TempDir;

struct ParamCount {
  long total = 0, non_trainable = 0;
};

// Keras' counts: conv k*c*kh*kw + k, dense in*out + out, batch norm 4*c of which 2*c (the
// moving mean and variance) are not trained. Valid conv: out = (in - k) / s + 1; same conv:
// out = ceil(in / s); max pool: out = (in - size) / stride + 1.
ParamCount count_params(const ModelSpec& m) {
  ParamCount p;
  long h = m.input_h, w = m.input_w, c = m.input_c;
  bool flat = false;
  for (const LayerSpec& l : m.layers) {
    switch (l.type) {
      case LayerType::kConv2D:
        EXPECT_FALSE(flat) << l.name;
        p.total += long(l.filters) * c * l.kernel * l.kernel + l.filters;
        h = l.same_padding ? (h + l.stride - 1) / l.stride : (h - l.kernel) / l.stride + 1;
        w = l.same_padding ? (w + l.stride - 1) / l.stride : (w - l.kernel) / l.stride + 1;
        c = l.filters;
        break;
      case LayerType::kDense:
        EXPECT_TRUE(flat) << l.name << ": dense before flatten";
        p.total += c * l.units + l.units;
        c = l.units;
        break;
      case LayerType::kBatchNorm:
        p.total += 4 * c;
        p.non_trainable += 2 * c;
        break;
      case LayerType::kMaxPool:
        h = (h - l.pool) / l.pool_stride + 1;
        w = (w - l.pool) / l.pool_stride + 1;
        break;
      case LayerType::kFlatten:
        c = h * w * c;
        h = w = 1;
        flat = true;
        break;
      case LayerType::kDropout:
      case LayerType::kRelu: break;
    }
  }
  EXPECT_EQ(c, m.classes) << "the last layer's width is the number of classes";
  return p;
}

using test::expect_input_error;

// Every field, so that two configs can be compared and a difference read.
std::string describe(const Config& c) {
  std::string s = fmt::format("model {} {}x{}x{} classes {}\n", c.model.name, c.model.input_h, c.model.input_w,
                              c.model.input_c, c.model.classes);
  for (const LayerSpec& l : c.model.layers)
    s += fmt::format("layer {} type {} line {} filters {} kernel {} stride {} same {} units {} act {} init {} l2 {} "
                     "pool {}/{} rate {} momentum {} eps {}\n",
                     l.name, int(l.type), l.line, l.filters, l.kernel, l.stride, l.same_padding, l.units,
                     int(l.activation), int(l.init), l.l2, l.pool, l.pool_stride, l.rate, l.momentum, l.eps);
  const auto& d = c.data;
  s += fmt::format("data {} {} {} {} {}\n", d.dir, d.validation_split, d.train_limit, d.mean, d.std);
  const auto& a = c.augment.params;
  s += fmt::format("augment {} {} {} {} {} {} {} {}\n", c.augment.enabled, a.rotation_deg, a.shift_x, a.shift_y, a.zoom,
                   a.scale, a.mean, a.inv_std);
  const auto& o = c.train.optimizer;
  s += fmt::format("train {} {} {} {} {} {} {} {} {} {} {}\n", c.train.epochs, c.train.batch_size,
                   c.train.learning_rate, c.train.seed, int(o.kind), o.beta1, o.beta2, o.eps, o.momentum, o.nesterov,
                   o.weight_decay);
  const auto& e = c.early_stopping;
  s += fmt::format("early_stopping {} {} {} {} {}\n", e.enabled, e.monitor, e.patience, e.min_delta,
                   e.restore_best_weights);
  const auto& r = c.lr_schedule;
  s += fmt::format("lr_schedule {} {} {} {} {} {} {} {} {} {}\n", int(r.kind), r.monitor, r.factor, r.patience,
                   r.min_delta, r.cooldown, r.min_lr, r.step_epochs, r.max_lr, r.warmup_fraction);
  s += fmt::format("text {} bytes, overrides {}\n", c.text.size(), fmt::join(c.overrides, " "));
  return s;
}

// ---------------------------------------------------------------- the reference networks

TEST(ConfigReference, CnnBnIsSeed000) {
  const Config c = load_config("configs/cnn_bn.ini");
  EXPECT_EQ(c.source, "configs/cnn_bn.ini");
  EXPECT_EQ(c.model.name, "cnn_bn");
  ASSERT_EQ(c.model.layers.size(), 16u);
  EXPECT_EQ(c.model.layers.front().name, "conv1");
  EXPECT_EQ(c.model.layers.back().activation, Activation::kSoftmax);
  const ParamCount p = count_params(c.model);
  EXPECT_EQ(p.total, 242954);
  EXPECT_EQ(p.non_trainable, 704);
  EXPECT_EQ(c.train.epochs, 20);
  EXPECT_EQ(c.train.batch_size, 64);
  EXPECT_FLOAT_EQ(c.train.learning_rate, 1e-3f);
  EXPECT_FLOAT_EQ(c.data.validation_split, 0.2f);
  EXPECT_TRUE(c.augment.enabled);
  EXPECT_FLOAT_EQ(c.augment.params.rotation_deg, 10);
  EXPECT_FLOAT_EQ(c.augment.params.zoom, 0.1f);
  EXPECT_TRUE(c.early_stopping.enabled);
  EXPECT_EQ(c.early_stopping.patience, 5);
  EXPECT_EQ(c.lr_schedule.kind, ScheduleKind::kPlateau);
  EXPECT_FLOAT_EQ(c.lr_schedule.factor, 0.5f);
  EXPECT_EQ(c.lr_schedule.patience, 3);
  EXPECT_FLOAT_EQ(c.lr_schedule.min_lr, 1e-6f);
}

TEST(ConfigReference, CnnWideIsSeed001Cnn) {
  const Config c = load_config("configs/cnn_wide.ini");
  const ParamCount p = count_params(c.model);
  EXPECT_EQ(p.total, 619114);
  EXPECT_EQ(p.total - p.non_trainable, 617450);
  int same_convs = 0;
  for (const auto& l : c.model.layers) same_convs += l.type == LayerType::kConv2D && l.same_padding;
  EXPECT_EQ(same_convs, 6);
  EXPECT_EQ(c.train.batch_size, 64);
  EXPECT_EQ(c.train.epochs, 20);
  EXPECT_TRUE(c.augment.enabled);
  EXPECT_TRUE(c.early_stopping.enabled);
  EXPECT_EQ(c.lr_schedule.kind, ScheduleKind::kPlateau);
}

TEST(ConfigReference, MlpIsSeed001Baseline) {
  const Config c = load_config("configs/mlp.ini");
  EXPECT_EQ(c.model.layers.front().type, LayerType::kFlatten);
  EXPECT_EQ(count_params(c.model).total, 567434);
  EXPECT_EQ(count_params(c.model).non_trainable, 0);
  EXPECT_FALSE(c.augment.enabled);
  EXPECT_EQ(c.train.batch_size, 128);
  EXPECT_EQ(c.train.epochs, 20);
  EXPECT_TRUE(c.early_stopping.enabled);
  EXPECT_EQ(c.early_stopping.patience, 5);
}

TEST(ConfigReference, CnnFlaskIsSeed003) {
  const Config c = load_config("configs/cnn_flask.ini");
  EXPECT_EQ(count_params(c.model).total, 225034);
  for (const auto& l : c.model.layers) {
    if (l.type != LayerType::kConv2D && l.type != LayerType::kDense) continue;
    EXPECT_EQ(l.init, Initializer::kHeNormal) << l.name;
    EXPECT_FLOAT_EQ(l.l2, 0.001f) << l.name;
  }
  EXPECT_EQ(c.train.batch_size, 128);
  EXPECT_EQ(c.train.epochs, 25);
  EXPECT_EQ(c.early_stopping.monitor, "val_loss");
  EXPECT_EQ(c.early_stopping.patience, 5);
  EXPECT_TRUE(c.augment.enabled);
}

TEST(ConfigReference, CnnTutorialIsSeed004) {
  const Config c = load_config("configs/cnn_tutorial.ini");
  EXPECT_EQ(count_params(c.model).total, 93322);
  EXPECT_EQ(c.train.batch_size, 32);
  EXPECT_EQ(c.train.epochs, 10);
  EXPECT_FALSE(c.augment.enabled);
  EXPECT_FALSE(c.early_stopping.enabled);
  EXPECT_EQ(c.lr_schedule.kind, ScheduleKind::kConstant);
}

TEST(ConfigReference, DefaultIsCnnBnFile) {
  const Config embedded = default_config();
  const Config file = load_config("configs/cnn_bn.ini");
  EXPECT_EQ(embedded.source, kDefaultConfigName);
  EXPECT_EQ(embedded.text, file.text);
  EXPECT_EQ(describe(embedded), describe(file));
  EXPECT_EQ(count_params(embedded.model).total, 242954);
}

// ---------------------------------------------------------------- values

// A small valid config. Error tests append lines after line 11 (in [train]), or put a layer
// before it (the output layer must stay last).
const std::string kBase = "[model]\n"               // 1
                          "name = t\n"              // 2
                          "[layer.c1]\n"            // 3
                          "type = conv2d\n"         // 4
                          "filters = 8\n"           // 5
                          "[layer.out]\n"           // 6
                          "type = dense\n"          // 7
                          "units = 10\n"            // 8
                          "activation = softmax\n"  // 9
                          "[train]\n"               // 10
                          "epochs = 3\n";           // 11

Config parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parse_config(text, "t.ini", overrides);
}

TEST(ConfigValues, BaseParsesWithDefaults) {
  const Config c = parse(kBase);
  ASSERT_EQ(c.model.layers.size(), 2u);
  EXPECT_EQ(c.model.layers[0].line, 3);
  EXPECT_EQ(c.model.layers[1].line, 6);
  EXPECT_EQ(c.model.layers[0].kernel, 3);
  EXPECT_FALSE(c.model.layers[0].same_padding);
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_EQ(c.train.batch_size, 64);
  EXPECT_EQ(c.text, kBase);
  EXPECT_EQ(c.source, "t.ini");
}

TEST(ConfigValues, BooleanSpellings) {
  for (const char* yes : {"true", "yes", "1", "on", "True", "ON"})
    EXPECT_TRUE(parse(kBase + "[augment]\nenabled = " + yes + "\n").augment.enabled) << yes;
  for (const char* no : {"false", "no", "0", "off", "FALSE"})
    EXPECT_FALSE(parse(kBase + "[augment]\nenabled = " + no + "\n").augment.enabled) << no;
  expect_input_error([] { parse(kBase + "[augment]\nenabled = maybe\n"); },
                     {"t.ini:13", "[augment] enabled", "'maybe' is not a boolean"});
}

TEST(ConfigValues, NumbersAreParsedExactly) {
  const Config c = parse(kBase + "learning_rate = 2.5e-4\nseed = 18446744073709551615\nbatch_size = 7\n");
  EXPECT_FLOAT_EQ(c.train.learning_rate, 2.5e-4f);
  EXPECT_EQ(c.train.seed, 18446744073709551615ull);
  EXPECT_EQ(c.train.batch_size, 7);
}

TEST(ConfigValues, InputShape) {
  const Config c = parse("[model]\ninput = 32x24x3\nclasses = 47\n" + kBase.substr(kBase.find("[layer.c1]")));
  EXPECT_EQ(c.model.input_h, 32);
  EXPECT_EQ(c.model.input_w, 24);
  EXPECT_EQ(c.model.input_c, 3);
  EXPECT_EQ(c.model.classes, 47);
  for (const char* bad : {"28x28", "28x28x1x1", "28*28*1", "x28x1", "28x28x"})
    expect_input_error(
        [&] { parse("[model]\ninput = " + std::string(bad) + "\n" + kBase.substr(kBase.find("[layer.c1]"))); },
        {"t.ini:2", "[model] input", "HxWxC"});
}

TEST(ConfigValues, MaxPoolStrideDefaultsToSize) {
  const std::string pool = "[layer.p]\ntype = maxpool\nsize = 3\n";
  EXPECT_EQ(parse(pool + kBase).model.layers[0].pool_stride, 3);
  EXPECT_EQ(parse(pool + "stride = 1\n" + kBase).model.layers[0].pool_stride, 1);
}

TEST(ConfigValues, AugmentCarriesTheNormalisation) {
  const Config c = parse(kBase + "[data]\nmean = 0.1307\nstd = 0.3081\n");
  EXPECT_FLOAT_EQ(c.augment.params.mean, 0.1307f);
  EXPECT_FLOAT_EQ(c.augment.params.inv_std, 1.0f / 0.3081f);
}

// ---------------------------------------------------------------- errors

TEST(ConfigErrors, UnknownKey) {
  expect_input_error([] { parse(kBase + "foo = 1\n"); }, {"t.ini:12: ", "unknown key 'foo' in [train]"});
  expect_input_error([] { parse(kBase + "[augment]\nfoo = 1\n"); }, {"t.ini:13: ", "unknown key 'foo' in [augment]"});
  expect_input_error([] { parse("[layer.x]\ntype = relu\nfoo = 1\n" + kBase); },
                     {"t.ini:3: ", "unknown key 'foo' in [layer.x]"});
}

TEST(ConfigErrors, UnknownSection) {
  expect_input_error([] { parse(kBase + "[bar]\nx = 1\n"); }, {"t.ini:12: ", "unknown section [bar]"});
  expect_input_error([] { parse(kBase + "[bar]\n"); }, {"t.ini:12: ", "unknown section [bar]"});  // even empty
  expect_input_error([] { parse(kBase + "[layer]\ntype = relu\n"); }, {"t.ini:12: ", "unknown section [layer]"});
}

TEST(ConfigErrors, BadNumber) {
  for (const std::string v : {"1e-3x", "", "ten", "0x10", "1,5", "nan", "inf"})
    expect_input_error([&] { parse(kBase + "learning_rate = " + v + "\n"); },
                       {"t.ini:12: ", "[train] learning_rate: '" + v + "' is not a"});
  for (const std::string v : {"3.5", "", "ten", "+4", "4 5"})
    expect_input_error([&] { parse(kBase + "batch_size = " + v + "\n"); },
                       {"t.ini:12: ", "[train] batch_size: '" + v + "' is not an integer"});
  expect_input_error([] { parse(kBase + "seed = -1\n"); }, {"t.ini:12: ", "[train] seed", "'-1'"});
}

TEST(ConfigErrors, OutOfRange) {
  expect_input_error([] { parse(kBase + "batch_size = 0\n"); },
                     {"t.ini:12: ", "[train] batch_size: 0 is out of range (1..65536)"});
  expect_input_error([] { parse(kBase + "batch_size = 99999999999999999999\n"); },
                     {"t.ini:12: ", "[train] batch_size", "out of range"});
  expect_input_error([] { parse(kBase + "learning_rate = 0\n"); },
                     {"t.ini:12: ", "[train] learning_rate: 0 is out of range (0, inf)"});
  expect_input_error([] { parse(kBase + "[data]\nvalidation_split = 1\n"); },
                     {"t.ini:13: ", "[data] validation_split: 1 is out of range [0, 1)"});
  expect_input_error([] { parse("[layer.d]\ntype = dropout\nrate = -0.1\n" + kBase); },
                     {"t.ini:3: ", "[layer.d] rate: -0.1 is out of range [0, 1)"});
  expect_input_error([] { parse(kBase + "[lr_schedule]\nfactor = 1\n"); },
                     {"t.ini:13: ", "[lr_schedule] factor: 1 is out of range (0, 1)"});
}

TEST(ConfigErrors, MissingRequiredKey) {
  expect_input_error([] { parse("[layer.c1]\ntype = conv2d\nkernel = 5\n" + kBase.substr(kBase.find("[layer.out]"))); },
                     {"t.ini:1: ", "[layer.c1] missing required key 'filters'"});
  expect_input_error([] { parse("[layer.d]\nrate = 0.5\n" + kBase); },
                     {"t.ini:1: ", "[layer.d] missing required key 'type'"});
  expect_input_error([] { parse("[layer.d]\n" + kBase); }, {"t.ini:1: ", "[layer.d] missing required key 'type'"});
  expect_input_error([] { parse("[layer.d]\ntype = dropout\n" + kBase); },
                     {"t.ini:1: ", "[layer.d] missing required key 'rate'"});
  expect_input_error([] { parse("[model]\nname = t\n[train]\nepochs = 3\n"); }, {"t.ini: ", "no [layer.NAME] section"});
}

TEST(ConfigErrors, BadEnumValue) {
  expect_input_error([] { parse("[layer.c2]\ntype = conv3d\n" + kBase); },
                     {"t.ini:2: [layer.c2] type: 'conv3d' is not one of conv2d, dense, batchnorm, maxpool, dropout, "
                      "flatten, relu"});
  expect_input_error([] { parse(kBase + "optimizer = rmsprop\n"); },
                     {"t.ini:12: ", "[train] optimizer: 'rmsprop' is not one of adam, adamw, sgd"});
  expect_input_error([] { parse("[layer.c2]\ntype = conv2d\nfilters = 4\nactivation = softmax\n" + kBase); },
                     {"t.ini:4: ", "[layer.c2] activation: 'softmax' is not one of none, relu"});
  expect_input_error([] { parse(kBase + "[early_stopping]\nmonitor = val_acc\n"); },
                     {"t.ini:13: ", "[early_stopping] monitor: 'val_acc' is not one of val_loss, val_accuracy"});
}

TEST(ConfigErrors, KeyNotApplicableToLayerType) {
  expect_input_error([] { parse("[layer.pool1]\ntype = maxpool\nfilters = 3\n" + kBase); },
                     {"t.ini:3: ", "[layer.pool1] key 'filters' does not apply to a maxpool layer"});
  expect_input_error([] { parse("[layer.f]\ntype = flatten\nunits = 3\n" + kBase); },
                     {"t.ini:3: ", "[layer.f] key 'units' does not apply to a flatten layer"});
  // the key's position before 'type' does not matter
  expect_input_error([] { parse("[layer.d]\nsize = 2\ntype = dense\nunits = 3\n" + kBase); },
                     {"t.ini:2: ", "[layer.d] key 'size' does not apply to a dense layer"});
}

TEST(ConfigErrors, DuplicateKey) {
  expect_input_error([] { parse(kBase + "epochs = 4\n"); },
                     {"t.ini:12: ", "[train] duplicate key 'epochs'", "first set at t.ini:11"});
}

TEST(ConfigErrors, DuplicateSection) {
  expect_input_error([] { parse(kBase + "[layer.c1]\ntype = relu\n"); },
                     {"t.ini:12: ", "duplicate section [layer.c1]", "t.ini:3"});
}

TEST(ConfigErrors, SoftmaxNotLast) {
  const std::string text = "[layer.h]\ntype = dense\nunits = 32\nactivation = softmax\n" + kBase;
  expect_input_error([&] { parse(text); },
                     {"t.ini:4: ", "[layer.h] activation", "softmax is allowed only on the last layer"});
}

TEST(ConfigErrors, SyntaxErrorLine) {
  expect_input_error([] { parse(kBase + "this line has no equals sign\n"); },
                     {"t.ini:12: ", "syntax error", "'this line has no equals sign'"});
  expect_input_error([] { parse(kBase + "[unclosed\nx = 1\n"); }, {"t.ini:12: ", "syntax error", "'[unclosed'"});
  // the first problem in the file wins, whichever pass finds it
  expect_input_error([] { parse(kBase + "epochs = 4\nno equals\n"); }, {"t.ini:12: ", "duplicate key 'epochs'"});
  expect_input_error([] { parse(kBase + "no equals\nepochs = 4\n"); }, {"t.ini:12: ", "syntax error"});
}

TEST(ConfigErrors, WhatInihWouldMisread) {
  expect_input_error([] { parse("x = 1\n" + kBase); }, {"t.ini:1: ", "key 'x' is outside any section"});
  expect_input_error([] { parse(kBase + "  batch_size = 32\n"); },
                     {"t.ini:12: ", "[train] epochs", "continuation of 'epochs'"});
  expect_input_error([] { parse(kBase + "# " + std::string(300, 'x') + "\n"); },
                     {"t.ini:12: ", "line is 302 characters long"});
  expect_input_error([] { parse(kBase + std::string("seed = 1\0\n", 10)); }, {"t.ini:12: ", "NUL byte"});
  expect_input_error([] { parse("[layer.bad name]\ntype = relu\n" + kBase); }, {"t.ini:1: ", "[layer.bad name]"});
}

TEST(ConfigErrors, ValidationMonitorWithoutValidationSplit) {
  expect_input_error([] { parse(kBase + "[early_stopping]\nenabled = yes\n[data]\nvalidation_split = 0\n"); },
                     {"t.ini:15: ", "[data] validation_split", "early_stopping", "val_loss"});
  EXPECT_NO_THROW(parse(kBase + "[early_stopping]\nenabled = yes\nmonitor = loss\n[data]\nvalidation_split = 0\n"));
}

TEST(ConfigErrors, ErrorsFromAFileNameThePath) {
  TempDir dir;
  const auto path = dir / "bad.ini";
  test::write_bytes(path, std::vector<unsigned char>(kBase.begin(), kBase.end()));
  EXPECT_EQ(load_config(path).train.epochs, 3);
  const std::string bad = kBase + "epochs = 4\n";
  test::write_bytes(path, std::vector<unsigned char>(bad.begin(), bad.end()));
  expect_input_error([&] { load_config(path); }, {path.string() + ":12: ", "duplicate key 'epochs'"});
}

TEST(ConfigErrors, MissingFile) {
  TempDir dir;
  expect_input_error([&] { load_config(dir / "nope.ini"); }, {(dir / "nope.ini").string(), "no such config file"});
}

TEST(ConfigErrors, Directory) {
  TempDir dir;
  expect_input_error([&] { load_config(dir.path()); }, {dir.path().string(), "is a directory"});
}

// ---------------------------------------------------------------- --set overrides

TEST(ConfigOverrides, ReplaceAValue) {
  const Config c = default_config({"train.epochs=3"});
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_EQ(c.overrides, std::vector<std::string>{"train.epochs=3"});
  EXPECT_EQ(c.text, kDefaultConfigText);  // the text stays as read; the overrides are kept beside it
  EXPECT_EQ(default_config().train.epochs, 20);
}

TEST(ConfigOverrides, ChangeALayer) {
  const Config base = default_config();
  const Config c = default_config({"layer.conv1.filters=16"});
  EXPECT_EQ(c.model.layers[0].filters, 16);
  // conv1 320 -> 160, bn1 128 -> 64, conv2 18,496 -> 9,280: 242,954 - 9,440
  EXPECT_EQ(count_params(c.model).total, count_params(base.model).total - 9440);
}

TEST(ConfigOverrides, AddKeysAndSections) {
  const Config c = default_config({"lr_schedule.cooldown = 2", "train.epochs=4", "train.epochs=5"});
  EXPECT_EQ(c.lr_schedule.cooldown, 2);
  EXPECT_EQ(c.train.epochs, 5);  // the last one wins
  EXPECT_TRUE(parse(kBase, {"augment.enabled=yes"}).augment.enabled);
}

TEST(ConfigOverrides, Errors) {
  expect_input_error([] { default_config({"nosuch.key=1"}); }, {"--set nosuch.key=1: ", "unknown section [nosuch]"});
  expect_input_error([] { default_config({"train.epochs"}); }, {"--set train.epochs: ", "section.key=value"});
  expect_input_error([] { default_config({"epochs=3"}); }, {"--set epochs=3: ", "section.key=value"});
  expect_input_error([] { default_config({".epochs=3"}); }, {"--set .epochs=3: "});
  expect_input_error([] { default_config({"train.=3"}); }, {"--set train.=3: "});
  expect_input_error([] { default_config({"train.epochs=0"}); },
                     {"--set train.epochs=0: ", "[train] epochs: 0 is out of range (1..10000)"});
  expect_input_error([] { default_config({"train.nosuch=1"}); },
                     {"--set train.nosuch=1: ", "unknown key 'nosuch' in [train]"});
  expect_input_error([] { default_config({"layer.nope.units=3"}); }, {"--set layer.nope.units=3: ", "[layer.nope]"});
  expect_input_error([] { default_config({"layer.pool1.filters=3"}); },
                     {"--set layer.pool1.filters=3: ", "key 'filters' does not apply to a maxpool layer"});
}

// The reference (`hdr config --reference`, docs/config.md) against the parser. The reference is
// drawn from the parser's tables; this checks that what it says about them is true: each default
// is what a config that leaves the key out resolves to, each required key is refused when left
// out, and each range or list of values is the one enforced, probed at its bounds.
TEST(ConfigReference, DefaultsAndAcceptedValuesAreWhatTheParserDoes) {
  // One layer of each type that takes keys, named after its type, with only its required key.
  const std::string minimal = "[layer.conv2d]\ntype = conv2d\nfilters = 4\n"
                              "[layer.batchnorm]\ntype = batchnorm\n"
                              "[layer.maxpool]\ntype = maxpool\n"
                              "[layer.dropout]\ntype = dropout\nrate = 0.5\n"
                              "[layer.flatten]\ntype = flatten\n"
                              "[layer.dense]\ntype = dense\nunits = 10\n";
  std::map<std::string, std::string> resolved;
  for (const auto& [key, value] : resolved_entries(parse_config(minimal, "minimal"))) resolved[key] = value;
  const auto accepted = [&](const std::string& key, const std::string& value) {
    try {
      parse_config(minimal, "minimal", {fmt::format("{}={}", key, value)});
      return true;
    } catch (const InputError&) {
      return false;
    }
  };
  const auto split = [](const std::string& text, const std::string& separator) {
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      const size_t end = text.find(separator, start);
      parts.push_back(text.substr(start, end - start));
      if (end == std::string::npos) return parts;
      start = end + separator.size();
    }
  };

  int probed = 0;
  for (const ConfigSectionInfo& section : config_reference()) {
    for (const ConfigKeyInfo& k : section.keys) {
      if (k.key == "type") continue;  // every layer of `minimal` sets it
      // (key as --set names it, the layer type or "")
      std::vector<std::pair<std::string, std::string>> targets;
      if (k.layer_types.empty()) targets.emplace_back(section.name + "." + k.key, "");
      for (const std::string& type : k.layer_types.empty() ? std::vector<std::string>{} : split(k.layer_types, ", "))
        targets.emplace_back(fmt::format("layer.{}.{}", type, k.key), type);
      ASSERT_FALSE(targets.empty()) << k.key;
      for (const auto& [name, type] : targets) {
        SCOPED_TRACE(name + " accepts " + k.accepts + ", default " + k.default_value);
        // The default: one value, or "conv2d: 1; maxpool: 2" per layer type.
        std::string expected = k.default_value;
        for (const std::string& per_type : split(k.default_value, "; "))
          if (!type.empty() && per_type.starts_with(type + ": ")) expected = per_type.substr(type.size() + 2);
        if (expected == "required") {
          const size_t header = minimal.find("[layer." + type + "]");
          const size_t line = minimal.find("\n" + k.key + " = ", header);
          ASSERT_NE(line, std::string::npos);
          std::string without = minimal;
          without.erase(line, minimal.find('\n', line + 1) - line);
          expect_input_error([&] { parse_config(without, "minimal"); },
                             {fmt::format("missing required key '{}'", k.key)});
        } else {
          EXPECT_EQ(resolved.at(name), expected);
        }

        // The values: "1..10000", ">= 0", "> 0", "[0, 1)", "any number", a list of names.
        std::string accepts = k.accepts;
        if (const size_t dense = accepts.find(" (dense: "); dense != std::string::npos)
          accepts = type == "dense" ? accepts.substr(dense + 9, accepts.size() - dense - 10) : accepts.substr(0, dense);
        const auto number = [](double x) { return fmt::format("{}", x); };
        if (const size_t dots = accepts.find(".."); dots != std::string::npos) {
          const long lo = std::stol(accepts.substr(0, dots)), hi = std::stol(accepts.substr(dots + 2));
          EXPECT_TRUE(accepted(name, std::to_string(lo)));
          EXPECT_TRUE(accepted(name, std::to_string(hi)));
          EXPECT_FALSE(accepted(name, std::to_string(lo - 1)));
          EXPECT_FALSE(accepted(name, std::to_string(hi + 1)));
        } else if (accepts.starts_with(">= ")) {
          const double lo = std::stod(accepts.substr(3));
          EXPECT_TRUE(accepted(name, number(lo)));
          EXPECT_FALSE(accepted(name, number(lo - 1e-3)));
        } else if (accepts.starts_with("> ")) {
          const double lo = std::stod(accepts.substr(2));
          EXPECT_FALSE(accepted(name, number(lo)));
          EXPECT_TRUE(accepted(name, number(lo + 1e-3)));
        } else if (accepts.starts_with("[") || accepts.starts_with("(")) {
          const auto bounds = split(accepts.substr(1, accepts.size() - 2), ", ");
          ASSERT_EQ(bounds.size(), 2u);
          const double lo = std::stod(bounds[0]), hi = std::stod(bounds[1]);
          EXPECT_EQ(accepted(name, number(lo)), accepts.front() == '[');
          EXPECT_EQ(accepted(name, number(hi)), accepts.back() == ']');
          EXPECT_TRUE(accepted(name, number((lo + hi) / 2)));
          EXPECT_FALSE(accepted(name, number(lo - 1e-3)));
          EXPECT_FALSE(accepted(name, number(hi + 1e-3)));
        } else if (accepts == "any number") {
          EXPECT_TRUE(accepted(name, "-1000.5"));
          EXPECT_TRUE(accepted(name, "1000.5"));
        } else if (accepts == "integer >= 0") {
          EXPECT_TRUE(accepted(name, "0"));
          EXPECT_TRUE(accepted(name, "18446744073709551615"));
          EXPECT_FALSE(accepted(name, "-1"));
        } else if (accepts.starts_with("true, false")) {
          for (const char* v : {"true", "false", "yes", "no", "on", "off", "1", "0"})
            EXPECT_TRUE(accepted(name, v)) << v;
          EXPECT_FALSE(accepted(name, "maybe"));
        } else if (accepts == "text") {
          EXPECT_TRUE(accepted(name, "some_text"));
          EXPECT_FALSE(accepted(name, ""));
        } else if (accepts == "HxWxC") {
          EXPECT_TRUE(accepted(name, "32x32x3"));
          EXPECT_FALSE(accepted(name, "32x32"));
        } else {
          for (const std::string& v : split(accepts, ", ")) EXPECT_TRUE(accepted(name, v)) << v;
          EXPECT_FALSE(accepted(name, "no_such_value"));
        }
        ++probed;
      }
    }
  }
  EXPECT_GE(probed, 60);  // 44 section keys and 16 (key, layer type) pairs
}

}  // namespace
}  // namespace hdr

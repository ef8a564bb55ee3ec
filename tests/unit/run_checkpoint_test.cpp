// A run's checkpoint metadata (engine/run_checkpoint.*): the training state survives the JSON
// bit for bit (infinities included), odd metadata is an InputError naming the field (never the
// JSON library's text), a checkpoint's resolved config wins over this hdr's defaults, and
// resuming with a different config is refused with the differing keys named unless --set
// changes them deliberately.
#include "engine/io/run_checkpoint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/errors.h"
#include "tests/expect_input_error.h"
#include "tests/small_network.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The small network on a fixed recipe.
const std::string kRunIni = std::string(test::kSmallNetworkIni) + R"([train]
epochs = 3
learning_rate = 0.001
)";

TrainingState awkward_state() {
  TrainingState s;
  s.epoch = 2;
  s.batch = 5;
  s.step = 21;
  s.loss_sum = 0.1 + 0.2;  // not the double nearest 0.3
  s.correct = 77;
  s.epoch_seconds = 1.0 / 3.0;
  s.run_seconds = 1e-300;
  s.plateau = PlateauState{0.001f * 0.5f, kInf, 2, 1};
  s.stopping = EarlyStoppingState{-kInf, 1, 3, true, true};  // -inf: a max-mode monitor's start
  s.best_value = std::nextafter(0.25, 1.0);
  s.best_epoch = 2;
  for (int e = 1; e <= 2; ++e) {
    EpochRecord r;
    r.epoch = e;
    r.loss = 1.0 / (e + 6);
    r.accuracy = 0.9 + 1e-17 * e;
    r.val_loss = std::sqrt(2.0) / e;
    r.val_accuracy = 0.875;
    r.lr = double(0.001f);
    r.seconds = 12.5;
    r.images_per_second = 4096.25;
    s.history.push_back(r);
  }
  return s;
}

void expect_same_bits(double a, double b, const char* what) {
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << what << ": " << a << " vs " << b;
}

TEST(RunMetadata, TrainingStateSurvivesTheJsonBitForBit) {
  RunMetadata m;
  m.hdr_version = "1.2.3";
  m.resolved_config = "[model]\nname = x\n";
  m.overrides = {"train.epochs=3", "data.dir=a b"};
  const TrainingState s = awkward_state();
  m.history = s.history;
  m.resume = s;
  const RunMetadata back = parse_run_metadata(run_metadata_json(m, nullptr), "t.hdr");
  ASSERT_TRUE(back.resume.has_value());
  const TrainingState& r = *back.resume;
  EXPECT_EQ(back.hdr_version, "1.2.3");
  EXPECT_EQ(back.resolved_config, m.resolved_config);
  EXPECT_EQ(back.overrides, m.overrides);
  EXPECT_EQ(r.epoch, 2);
  EXPECT_EQ(r.batch, 5);
  EXPECT_EQ(r.step, 21);
  expect_same_bits(r.loss_sum, s.loss_sum, "loss_sum");
  expect_same_bits(r.correct, s.correct, "correct");
  expect_same_bits(r.epoch_seconds, s.epoch_seconds, "epoch_seconds");
  expect_same_bits(r.run_seconds, s.run_seconds, "run_seconds");
  expect_same_bits(r.best_value, s.best_value, "best_value");
  EXPECT_EQ(r.plateau.lr, s.plateau.lr);
  EXPECT_EQ(r.plateau.best, kInf);
  EXPECT_EQ(r.plateau.wait, 2);
  EXPECT_EQ(r.plateau.cooldown_left, 1);
  EXPECT_EQ(r.stopping.best, -kInf);
  EXPECT_EQ(r.stopping.best_epoch, 1);
  EXPECT_EQ(r.stopping.wait, 3);
  EXPECT_TRUE(r.stopping.improved);
  EXPECT_TRUE(r.stopping.stop);
  EXPECT_EQ(r.best_epoch, 2);
  ASSERT_EQ(r.history.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    expect_same_bits(r.history[i].loss, s.history[i].loss, "history loss");
    expect_same_bits(r.history[i].accuracy, s.history[i].accuracy, "history accuracy");
    expect_same_bits(r.history[i].val_loss, s.history[i].val_loss, "history val_loss");
    expect_same_bits(r.history[i].lr, s.history[i].lr, "history lr");
  }
}

// history.json's form (history_json) reads back through parse_history, infinities included;
// an odd record is named by file and field.
TEST(History, RecordsSurviveTheJsonAndOddOnesAreNamed) {
  std::vector<EpochRecord> history = awkward_state().history;
  history[1].val_loss = std::numeric_limits<double>::infinity();
  const std::vector<EpochRecord> back = parse_history(nlohmann::json::parse(history_json(history).dump(2)),
                                                      "history.json");
  ASSERT_EQ(back.size(), 2u);
  expect_same_bits(back[0].loss, history[0].loss, "loss");
  EXPECT_EQ(back[1].val_loss, history[1].val_loss);
  EXPECT_EQ(back[1].images_per_second, history[1].images_per_second);
  test::expect_input_error([] { parse_history(nlohmann::json::parse(R"([{"epoch": 1}])"), "h.json"); },
                           {"h.json", "'history[0].loss' is missing"});
  test::expect_input_error([] { parse_history(nlohmann::json::parse("{}"), "h.json"); }, {"h.json", "not an array"});
}

TEST(RunMetadata, EmptyMetadataIsNoMetadata) {
  const RunMetadata m = parse_run_metadata("", "t.hdr");
  EXPECT_FALSE(m.resume.has_value());
  EXPECT_TRUE(m.resolved_config.empty());
}

// Each malformed field is named; the JSON library's own words never reach the message.
TEST(RunMetadata, OddFieldsAreNamedNotLeakedAsJsonErrors) {
  const std::string state = R"("epoch": 0, "batch": 0, "step": 0, "loss_sum": 0, "correct": 0, "epoch_seconds": 0,
      "run_seconds": 0, "plateau": {"lr": 0.001, "best": "inf", "wait": 0, "cooldown_left": 0},
      "early_stopping": {"best": "inf", "best_epoch": 0, "wait": 0, "improved": false, "stop": false},
      "best_value": "inf", "best_epoch": 0)";
  // A resume object with `from` in the state replaced by `to`.
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string odd = state;
    odd.replace(odd.find(from), from.size(), to);
    return R"({"resume": {"version": 1, )" + odd + "}}";
  };
  const std::vector<std::pair<std::string, std::string>> cases{
      {"[1, 2]", "not a JSON object"},
      {R"({"hdr_version": 5})", "'hdr_version' is not a string"},
      {R"({"overrides": "train.epochs=2"})", "'overrides' is not an array"},
      {R"({"overrides": [1]})", "'overrides' holds something other than strings"},
      {R"({"history": {}})", "'history' is not an array"},
      {R"({"history": [{"epoch": "one"}]})", "'history[0].epoch' is not an integer"},
      {R"({"test": {"count": -3, "loss": 0, "accuracy": 0.5}})", "'test.count' is -3"},
      {R"({"test": {"count": 3, "loss": 0, "accuracy": 7}})", "'test.accuracy' is not in [0, 1]"},
      {R"({"resume": []})", "'resume' is not an object"},
      {R"({"resume": {"version": 2, )" + state + "}}", "saved by a newer hdr"},
      {R"({"resume": {"version": 1, "epoch": 0}})", "'resume.batch' is missing"},
      {with(R"("epoch_seconds": 0)", R"("epoch_seconds": -1)"), "'resume.epoch_seconds' is -1"},
      {with(R"("run_seconds": 0)", R"("run_seconds": "inf")"), "'resume.run_seconds' is \"inf\""},
      {with(R"("run_seconds": 0)", R"("run_seconds": "nan")"), "'resume.run_seconds'"},
      {with(R"("lr": 0.001)", R"("lr": "inf")"), "'resume.plateau.lr'"},
      {with(R"("lr": 0.001)", R"("lr": 0)"), "'resume.plateau.lr' is 0"},
      {with(R"("lr": 0.001)", R"("lr": 1e300)"), "'resume.plateau.lr'"},
      {R"({"resume": {"version": 1, )" + state + R"(, "stray": 1, "plateau": 3}})", "'resume.plateau'"},
      {R"({"resume": {"version": 1, )" + state +
           "}, \"history\": [{\"epoch\": 1, \"loss\": 1, \"accuracy\": 1, "
           "\"val_loss\": 1, \"val_accuracy\": 1, \"lr\": 1, \"seconds\": 1, \"images_per_second\": 1}]}",
       "'resume.epoch' is 0 but the history holds 1 epochs"},
  };
  for (const auto& [json, needle] : cases) {
    SCOPED_TRACE(json);
    try {
      parse_run_metadata(json, "odd.hdr");
      ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("odd.hdr"), std::string::npos) << message;
      EXPECT_NE(message.find(needle), std::string::npos) << message;
      EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
      EXPECT_EQ(message.find("type_error"), std::string::npos) << message;
    }
  }
}

// What a later hdr would do with a default of its own changed: the stored resolved value wins.
TEST(CheckpointConfig, TheResolvedConfigWinsOverThisHdrsDefaults) {
  const Config trained = parse_config(kRunIni, "run.ini", {"data.mean=0.25", "train.seed=7"});
  RunMetadata m;
  m.resolved_config = resolved_config_text(trained);
  m.config_source = "run.ini";
  Checkpoint ck;
  ck.config_text = kRunIni;  // leaves data.mean and train.seed to the defaults
  const Config loaded = checkpoint_config(ck, m, "model.hdr");
  EXPECT_EQ(loaded.data.mean, 0.25f);
  EXPECT_EQ(loaded.train.seed, 7u);
  EXPECT_TRUE(config_changes(trained, loaded).empty());
  EXPECT_EQ(loaded.source, "run.ini");
  EXPECT_EQ(loaded.text, kRunIni);
  EXPECT_NE(parse_config(kRunIni, "run.ini").data.mean, 0.25f);  // the default is something else
}

// A checkpoint of an older build has no resolved config: its text with its overrides.
TEST(CheckpointConfig, OlderCheckpointsUseTheirTextAndOverrides) {
  RunMetadata m;
  m.overrides = {"train.epochs=9"};
  Checkpoint ck;
  ck.config_text = kRunIni;
  EXPECT_EQ(checkpoint_config(ck, m, "old.hdr").train.epochs, 9);
}

TEST(CheckpointConfig, AResolvedConfigThisHdrCannotReadIsNamed) {
  RunMetadata m;
  m.resolved_config = resolved_config_text(parse_config(kRunIni, "run.ini"));
  m.resolved_config.replace(m.resolved_config.find("[train]\n"), 8, "[train]\nfuture_key = 1\n");
  m.hdr_version = "9.0";
  test::expect_input_error([&] { checkpoint_config(Checkpoint{}, m, "new.hdr"); },
                           {"new.hdr", "does not read with this hdr", "9.0", "future_key"});
}

TEST(ResolvedConfig, EveryReferenceConfigReadsBackTheSame) {
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator("configs")) {
    if (entry.path().extension() != ".ini") continue;
    ++found;
    SCOPED_TRACE(entry.path().string());
    const Config c = load_config(entry.path());
    const Config again = parse_config(resolved_config_text(c), "resolved");
    EXPECT_EQ(resolved_entries(again), resolved_entries(c));
  }
  EXPECT_GT(found, 0) << "no configs/*.ini found from " << std::filesystem::current_path();
}

TEST(ResolvedConfig, AValueIniCannotCarryIsRefused) {
  test::expect_input_error([] { resolved_config_text(parse_config(kRunIni, "r.ini", {"data.dir=a ;b"})); },
                           {"cannot be stored in a checkpoint", "data.dir"});
}

// The checkpoint's metadata is JSON, whose text is UTF-8: any other bytes are refused by name.
TEST(ResolvedConfig, AValueThatIsNotUtf8IsRefused) {
  test::expect_input_error([] { resolved_config_text(parse_config(kRunIni, "r.ini", {"model.name=caf\xE9"})); },
                           {"cannot be stored in a checkpoint", "model.name", "not valid UTF-8"});
  EXPECT_NO_THROW(resolved_config_text(parse_config(kRunIni, "r.ini", {"model.name=caf\xC3\xA9"})));
  RunMetadata m;
  m.overrides = {"data.dir=\xFF"};
  test::expect_input_error([&] { run_metadata_json(m, nullptr); }, {"--set data.dir", "not valid UTF-8"});
  m.overrides.clear();
  m.config_source = "\xE9.ini";
  test::expect_input_error([&] { run_metadata_json(m, nullptr); }, {"config file's name", "not valid UTF-8"});
}

TEST(Utf8, WellFormedSequencesOnly) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // e-acute, euro, an emoji
  EXPECT_FALSE(is_valid_utf8("\xE9"));                                   // Latin-1, alone
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));                               // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));                           // a UTF-16 surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));                       // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));                               // cut short
}

ResumePoint point_of(const Config& config, int batch = 0) {
  ResumePoint p;
  p.file = "runs/tiny/model.hdr";
  p.metadata.resume = TrainingState{};
  p.metadata.resume->epoch = 1;
  p.metadata.resume->batch = batch;
  p.config = config;
  return p;
}

// Stopped within an epoch, the run's next batches are fixed by these keys: changing one is
// refused; at an epoch boundary it is a deliberate change like any other.
TEST(ResumeConfig, MidEpochKeysThatShapeTheBatchesAreRefused) {
  const Config run = parse_config(kRunIni, "run.ini");
  std::vector<ConfigChange> changes;
  for (const std::string arg : {"train.batch_size=16", "train.seed=9", "data.train_limit=100",
                                "data.validation_split=0.1", "data.dir=elsewhere"}) {
    SCOPED_TRACE(arg);
    test::expect_input_error([&] { resume_config(point_of(run, 5), nullptr, {arg}, changes); },
                             {"runs/tiny/model.hdr", "in epoch 2, after batch 5", override_key(arg),
                              "change the epoch's batches", "epoch boundary"});
    EXPECT_NO_THROW(resume_config(point_of(run, 0), nullptr, {arg}, changes));
  }
  EXPECT_NO_THROW(resume_config(point_of(run, 5), nullptr, {"train.epochs=5", "train.learning_rate=0.01"}, changes));
}

TEST(ResumeConfig, ADifferentConfigIsRefusedWithEveryDifferingKeyNamed) {
  const ResumePoint point = point_of(parse_config(kRunIni, "run.ini"));
  const Config given = parse_config(kRunIni, "other.ini", {"train.epochs=5", "train.learning_rate=0.01"});
  std::vector<ConfigChange> changes;
  test::expect_input_error([&] { resume_config(point, &given, {}, changes); },
                           {"other.ini", "runs/tiny/model.hdr", "train.epochs (run: 3, other.ini: 5)",
                            "train.learning_rate (run: 0.001, other.ini: 0.01)", "--set"});
}

TEST(ResumeConfig, AKeyChangedWithSetIsNotRefusedTheOthersStill) {
  const ResumePoint point = point_of(parse_config(kRunIni, "run.ini"));
  const std::vector<std::string> overrides{"train.epochs=5"};
  const Config given = parse_config(kRunIni, "other.ini", {"train.epochs=5", "train.learning_rate=0.01"});
  std::vector<ConfigChange> changes;
  try {
    resume_config(point, &given, overrides, changes);
    FAIL() << "accepted a learning rate changed without --set";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("train.learning_rate"), std::string::npos) << message;
    EXPECT_EQ(message.find("train.epochs"), std::string::npos) << message;
  }
}

TEST(ResumeConfig, SetChangesAreReturnedAndApplied) {
  const ResumePoint point = point_of(parse_config(kRunIni, "run.ini", {"data.mean=0.5"}));
  std::vector<ConfigChange> changes;
  const Config c = resume_config(point, nullptr, {"train.epochs=5"}, changes);
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_EQ(c.data.mean, 0.5f);  // the run's, not the default
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "train.epochs");
  EXPECT_EQ(changes[0].before, "3");
  EXPECT_EQ(changes[0].after, "5");
  EXPECT_EQ(c.overrides.back(), "train.epochs=5");
}

TEST(ResumeConfig, TheSameConfigFileIsAccepted) {
  const ResumePoint point = point_of(parse_config(kRunIni, "run.ini"));
  const Config given = parse_config(kRunIni, "run.ini");
  std::vector<ConfigChange> changes;
  EXPECT_NO_THROW(resume_config(point, &given, {}, changes));
  EXPECT_TRUE(changes.empty());
}

TEST(ReadResumePoint, AFinishedRunIsNotResumable) {
  test::TempDir dir;
  RunMetadata m;
  m.epochs_run = 3;
  m.resolved_config = resolved_config_text(parse_config(kRunIni, "run.ini"));
  EvalResult test;
  test.count = 10;
  test.accuracy = 0.5;
  save_checkpoint(dir / "model.hdr", Checkpoint{kRunIni, run_metadata_json(m, &test), {}});
  test::expect_input_error([&] { read_resume_point(dir.path()); },
                           {"model.hdr", "holds no run under way", "finished after 3 epochs"});
}

// best.hdr: hdr train's metadata without a test result or a run under way.
TEST(ReadResumePoint, BestWeightsAreNamedAsWeightsOnly) {
  test::TempDir dir;
  RunMetadata m;
  m.hdr_version = "1.0";
  m.epochs_run = 2;
  m.resolved_config = resolved_config_text(parse_config(kRunIni, "run.ini"));
  save_checkpoint(dir / "best.hdr", Checkpoint{kRunIni, run_metadata_json(m, nullptr), {}});
  try {
    read_resume_point(dir / "best.hdr");
    FAIL() << "accepted best.hdr";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("holds weights only"), std::string::npos) << message;
    EXPECT_NE(message.find("best.hdr"), std::string::npos) << message;
    EXPECT_EQ(message.find("too old"), std::string::npos) << message;
  }
}

TEST(ReadResumePoint, AMissingRunFolderIsNamed) {
  test::TempDir dir;
  test::expect_input_error([&] { read_resume_point(dir.path()); }, {(dir / "model.hdr").string(), "no such file"});
}

}  // namespace
}  // namespace hdr

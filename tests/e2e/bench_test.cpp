// `hdr bench train|infer|kernels|all --json` in tiny mode (a few steps): the documented schema
// (docs/profiling.md), every op of the training step with its rates and roof, the devices side by
// side; `hdr bench compare` on results written by hand; `hdr train --profile`.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/process.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

using nlohmann::json;
using test::run_command;

using test::hdr_command;

// Why cuda:0 is absent: no GPU, or a build without the CUDA backend (the sanitizer builds).
#ifdef HDR_WITH_CUDA
constexpr const char* kNoGpu = "no usable GPU";
#else
constexpr const char* kNoGpu = "built without CUDA";
#endif

json run_json(const std::string& args) {
  const auto r = run_command(hdr_command(args), test::Capture::kStdoutOnly);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return json::parse(r.output);  // all of stdout: JSON and nothing else
}

// A percentage of its roof in (0, 100], or, when the measured roof was beaten (ctest -j keeps the
// cores busy while the peak is sampled), null with the peak marked under-measured.
void expect_percent_of_peak(const json& j, const std::string& name) {
  if (j.value("peak_under_measured", false)) {
    EXPECT_TRUE(j["percent_of_peak"].is_null()) << name;
    return;
  }
  EXPECT_GT(j["percent_of_peak"].get<double>(), 0.0) << name;
  EXPECT_LE(j["percent_of_peak"].get<double>(), 100.0) << name;
}

// The op names a cnn_bn training step runs on the CPU backend (the conv blocks' batch norm and
// pooling fused), every one of which `bench kernels` must time.
const std::set<std::string> kCnnBnStepOps = {"augment",
                                             "gather_labels",
                                             "conv_forward",
                                             "conv_backward_data",
                                             "conv_backward_weights",
                                             "bn_relu_maxpool_forward_train",
                                             "bn_relu_maxpool_backward",
                                             "conv_bn_relu_maxpool_backward",
                                             "bn_relu_forward_train",
                                             "bn_relu_backward",
                                             "dropout_forward",
                                             "dropout_backward",
                                             "flatten_forward",
                                             "flatten_backward",
                                             "gemm",
                                             "bias_add",
                                             "bias_grad",
                                             "softmax_xent",
                                             "optimizer_update"};

TEST(CliBench, KernelsTimesEveryOpOfTheStepWithItsRoof) {
  const json r = run_json("bench kernels --device cpu --threads 1 --steps 2 --json");
  EXPECT_EQ(r["schema"], "hdr-bench/2");
  EXPECT_EQ(r["command"], "kernels");
  EXPECT_EQ(r["model"], "cnn_bn");
  ASSERT_EQ(r["devices"].size(), 1u);
  const json& d = r["devices"][0];
  EXPECT_EQ(d["device"], "cpu");
  EXPECT_TRUE(d["available"].get<bool>());
  for (const char* peak : {"fp32_gflops", "memory_gbs", "cache_gbs"})
    EXPECT_GT(d["peaks"][peak].get<double>(), 0.1) << peak;
  const json& k = d["kernels"];
  EXPECT_EQ(k["steps"], 2);
  EXPECT_EQ(k["batch"], 64);
  std::set<std::string> seen, scopes;
  double shares = 0;
  for (const json& op : k["ops"]) {
    const std::string name = op["scope"].get<std::string>() + " / " + op["op"].get<std::string>();
    seen.insert(op["op"].get<std::string>());
    scopes.insert(op["scope"].get<std::string>());
    EXPECT_EQ(op["calls_per_step"].get<double>(), 1.0) << name;
    EXPECT_GT(op["median_ms"].get<double>(), 0.0) << name;
    EXPECT_LE(op["p10_ms"].get<double>(), op["median_ms"].get<double>()) << name;
    EXPECT_GE(op["p90_ms"].get<double>(), op["median_ms"].get<double>()) << name;
    EXPECT_GT(op["bytes"].get<double>(), 0.0) << name;
    EXPECT_TRUE(op["bound"] == "memory" || op["bound"] == "compute" || op["bound"] == "cache") << name;
    expect_percent_of_peak(op, name);
    shares += op["share_percent"].get<double>();
  }
  EXPECT_EQ(seen, kCnnBnStepOps);
  EXPECT_NEAR(shares, 100.0, 1e-6);
  for (const char* scope : {"data", "conv1 forward", "bn1 + pool1 forward", "conv1 + bn1 + pool1 backward",
                            "output backward", "loss", "optimizer"})
    EXPECT_TRUE(scopes.count(scope)) << scope;
  // conv1's forward by its formula: 64 images x 26 x 26 outputs x 32 filters x 9 taps x 2, and
  // the bias; bytes: input 64x28x28, weights 32x9, output 64x32x26x26 floats.
  for (const json& op : k["ops"])
    if (op["scope"] == "conv1 forward" && op["op"] == "conv_forward") {
      EXPECT_DOUBLE_EQ(op["flops"].get<double>(), 64.0 * 26 * 26 * 32 * (9 * 2 + 1));
      EXPECT_DOUBLE_EQ(op["bytes"].get<double>(), 4.0 * (64 * 28 * 28 + 32 * 9 + 64 * 32 * 26 * 26));
      EXPECT_EQ(op["shape"], "64x1x28x28 * 32x1x3x3 s1 p0");
    }
}

TEST(CliBench, TrainAndInferReportThroughputAgainstThePeak) {
  const json r = run_json("bench all --device cpu --threads 1 --steps 3 --repeats 1 --json");
  const json& d = r["devices"][0];
  // Forward FLOPs of seed 000's network, by hand: 2 x (conv 26*26*32*9 + 11*11*64*288 +
  // 3*3*128*576 + dense 1152*128 + 128*10) = 6,474,496; training is 3x that.
  EXPECT_NEAR(d["train"]["mflop_per_image"].get<double>(), 3 * 6.474496, 1e-9);
  const double images_per_second = d["train"]["images_per_second"].get<double>();
  EXPECT_GT(images_per_second, 0.0);
  // cnn_bn holds out 20% of the 60,000 for validation and trains 20 epochs.
  EXPECT_EQ(d["train"]["train_images"], 48000);
  EXPECT_EQ(d["train"]["epochs"], 20);
  EXPECT_DOUBLE_EQ(d["train"]["seconds_per_epoch"].get<double>(), 48000 / images_per_second);
  EXPECT_DOUBLE_EQ(d["train"]["projected_run_seconds"].get<double>(), 20 * 48000 / images_per_second);
  // What the backend performs: at most the formula's (fewer where it runs Winograd), and the %
  // of the peak is of that rate.
  for (const char* pass : {"train", "infer"}) {
    const json& p = d[pass];
    EXPECT_GT(p["performed_mflop_per_image"].get<double>(), 0.0) << pass;
    EXPECT_LE(p["performed_mflop_per_image"].get<double>(), p["mflop_per_image"].get<double>() + 1e-9) << pass;
    EXPECT_NEAR(p["effective_percent_of_peak"].get<double>(),
                100 * p["gflops"].get<double>() / d["peaks"]["fp32_gflops"].get<double>(), 1e-9)
        << pass;
    expect_percent_of_peak(p, pass);
  }
  EXPECT_NEAR(d["infer"]["mflop_per_image"].get<double>(), 6.474496, 1e-9);
  EXPECT_GE(d["infer"]["single_image_performed_mflop"].get<double>(),
            d["infer"]["performed_mflop_per_image"].get<double>() - 1e-9);  // a single image: no Winograd
  EXPECT_LE(d["infer"]["single_image_performed_mflop"].get<double>(), 6.474496 + 1e-9);
  EXPECT_GT(d["infer"]["images_per_second"].get<double>(), 0.0);
  EXPECT_GT(d["infer"]["single_image_latency_ms"].get<double>(), 0.0);
  EXPECT_TRUE(d.contains("kernels"));
}

// --device all: the CPU and cuda:0. Without a GPU the second column is "no device" with the
// reason, and no number.
TEST(CliBench, TrainOnAllDevicesSideBySide) {
  const json r = run_json("bench train --device all --threads 1 --steps 2 --repeats 1 --json");
  ASSERT_EQ(r["devices"].size(), 2u);
  EXPECT_EQ(r["devices"][0]["device"], "cpu");
  EXPECT_GT(r["devices"][0]["train"]["images_per_second"].get<double>(), 0.0);
  const json& gpu = r["devices"][1];
  EXPECT_EQ(gpu["device"], "cuda");
  if (gpu["available"].get<bool>()) {
    EXPECT_GT(gpu["train"]["images_per_second"].get<double>(), 0.0);
  } else {
    EXPECT_NE(gpu["why"].get<std::string>().find(kNoGpu), std::string::npos) << gpu;
    EXPECT_FALSE(gpu.contains("train"));
  }
  const auto text = run_command(hdr_command("bench train --device all --threads 1 --steps 2 --repeats 1"));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("training, side by side"), std::string::npos) << text.output;
  if (!gpu["available"].get<bool>()) {
    EXPECT_NE(text.output.find("no device"), std::string::npos) << text.output;
  }
}

// Without a GPU, `bench kernels --device cuda` says what it can and labels it: this build's ptxas
// report ("static") and the step's ops on H100/H200 rooflines ("projected"), no timing.
TEST(CliBench, KernelsOnCudaWithoutAGpuIsStaticAndProjected) {
  const json r = run_json("bench kernels --device cuda --threads 1 --json");
  const json& d = r["devices"][0];
  if (d["available"].get<bool>()) GTEST_SKIP() << "a GPU is present: the ops are timed on it instead";
  EXPECT_NE(d["why"].get<std::string>().find(kNoGpu), std::string::npos) << d["why"];
  EXPECT_FALSE(d.contains("kernels"));
  EXPECT_FALSE(d.contains("peaks"));
  EXPECT_EQ(d["static"]["label"], "static");
#ifdef HDR_WITH_CUDA
  ASSERT_FALSE(d["static"]["kernels"].empty());
  const char* static_line = "static (this build's ptxas report)";
#else
  EXPECT_TRUE(d["static"]["kernels"].empty());
  const char* static_line = "static: this build has no CUDA kernels";
#endif
  for (const json& k : d["static"]["kernels"]) {
    EXPECT_GT(k["registers"].get<int>(), 0) << k;
    EXPECT_GT(k["occupancy"].get<double>(), 0.0) << k;
  }
  const json& p = d["projected"];
  EXPECT_EQ(p["label"], "projected");
  ASSERT_EQ(p["gpus"].size(), 2u);
  for (const json& gpu : p["gpus"]) {
    std::set<std::string> ops;
    double sum = 0;
    for (const json& op : gpu["ops"]) {
      ops.insert(op["op"].get<std::string>());
      sum += op["projected_ms"].get<double>();
      EXPECT_GE(op["projected_ms"].get<double>(), 0.002) << op;  // the launch floor
    }
    EXPECT_EQ(ops, kCnnBnStepOps) << gpu["gpu"];
    EXPECT_NEAR(gpu["projected_step_ms"].get<double>(), sum, 1e-9);
    EXPECT_NEAR(gpu["projected_images_per_second"].get<double>(), 64 / (sum * 1e-3), 1e-6);
    // Launch overhead: one launch per op at least; streams take the longer of the GPU's and the
    // host's time, and a graph takes less than streams.
    EXPECT_EQ(gpu["launches"].get<size_t>(), gpu["ops"].size());
    EXPECT_NEAR(gpu["streams_step_ms"].get<double>(), std::max(sum, gpu["host_launch_ms"].get<double>()), 1e-9);
    EXPECT_GT(gpu["launch_share"].get<double>(), 0.0);
    EXPECT_LT(gpu["launch_share"].get<double>(), 1.0);
    EXPECT_LT(gpu["graph_step_ms"].get<double>(), gpu["streams_step_ms"].get<double>());
  }
  const auto text = run_command(hdr_command("bench kernels --device cuda --threads 1"));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  for (const char* label :
       {"no device", static_line, "projected, a roofline model and no timing", "launch overhead, projected"})
    EXPECT_NE(text.output.find(label), std::string::npos) << label << "\n" << text.output;
  EXPECT_EQ(text.output.find("measured"), std::string::npos) << text.output;
}

// --batch sets the batch the step runs at.
TEST(CliBench, BatchOptionSetsTheStepsBatch) {
  const json r = run_json("bench kernels --device cpu --threads 1 --steps 1 --batch 16 --json");
  const json& k = r["devices"][0]["kernels"];
  EXPECT_EQ(k["batch"], 16);
  size_t augments = 0;
  for (const json& op : k["ops"]) {
    if (op["op"] != "augment") continue;
    ++augments;
    EXPECT_EQ(op["shape"], "16x1x28x28");
  }
  EXPECT_EQ(augments, 1u);
}

void write(const std::filesystem::path& path, const json& j) { std::ofstream(path) << j.dump(); }

json result_with(std::vector<json> ops, double images_per_second) {
  double step = 0;
  for (const json& op : ops) step += op["median_ms"].get<double>();
  return {{"schema", "hdr-bench/1"},  // the schema before /2: bench compare reads both
          {"command", "all"},
          {"model", "cnn_bn"},
          {"hdr", "test"},
          {"devices",
           {{{"device", "cpu"},
             {"available", true},
             {"backend", "cpu (test)"},
             {"train", {{"images_per_second", images_per_second}}},
             {"kernels", {{"ms_per_step", step}, {"ops", ops}}}}}}};
}

json op(const char* scope, const char* name, double ms) {
  return {{"scope", scope}, {"op", name}, {"shape", "64x10"}, {"median_ms", ms}};
}

TEST(CliBench, CompareGivesPerOpSpeedUps) {
  const test::TempDir dir;
  write(dir / "a.json", result_with({op("loss", "softmax_xent", 2.0), op("data", "augment", 1.0)}, 1000));
  write(dir / "b.json", result_with({op("loss", "softmax_xent", 0.5), op("optimizer", "optimizer_update", 3.0)}, 2500));
  const auto r = run_command(
      hdr_command(fmt::format("bench compare {} {}", (dir / "a.json").string(), (dir / "b.json").string())));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("B/A 2.50x"), std::string::npos) << r.output;  // images/s: 2500 / 1000
  // softmax_xent: 2.0 ms in A, 0.5 in B: B is 4x faster.
  const size_t line = r.output.find("loss / softmax_xent [64x10]");
  ASSERT_NE(line, std::string::npos) << r.output;
  EXPECT_NE(r.output.substr(line, r.output.find('\n', line) - line).find("4.00x"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("only in A"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("only in B"), std::string::npos) << r.output;
  // The step: 3.0 ms of ops in A, 3.5 in B.
  EXPECT_NE(r.output.find("0.86x"), std::string::npos) << r.output;
}

TEST(CliBench, CompareRefusesWhatIsNotABenchResult) {
  const test::TempDir dir;
  std::ofstream(dir / "broken.json") << "{\"schema\": ";
  write(dir / "other.json", json{{"schema", "something-else/3"}});
  write(dir / "good.json", result_with({}, 1));
  const std::string good = (dir / "good.json").string();
  for (const auto& [file, message] : std::vector<std::pair<std::string, std::string>>{
           {"broken.json", "broken.json: not JSON"},
           {"other.json",
            "other.json: not an hdr bench result (expected \"schema\": \"hdr-bench/2\" or \"hdr-bench/1\")"},
           {"missing.json", "missing.json: cannot be read"}}) {
    const auto r = run_command(hdr_command(fmt::format("bench compare {} {}", good, (dir / file).string())));
    EXPECT_EQ(r.exit_code, 2) << file << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
  }
  const auto one = run_command(hdr_command("bench compare " + good));
  EXPECT_EQ(one.exit_code, 2) << one.output;
  EXPECT_NE(one.output.find("expected two JSON files"), std::string::npos) << one.output;
}

// A short real run with --profile: the breakdown printed and kept, with every layer's forward
// and backward, the loss, the optimizer, the data and the weight average, one sample per step.
TEST(CliTrain, ProfileBreaksTheStepsDownAndKeepsProfileJson) {
  const test::TempDir dir;
  const auto r = run_command(hdr_command(
      fmt::format("train configs/cnn_tutorial.ini --device cpu --threads 1 --quiet --profile --set train.epochs=1 "
                  "--set data.train_limit=640 --set data.validation_split=0 --set train.ema=0.99 --out {}",
                  (dir / "run").string())));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // 640 images in batches of 32.
  EXPECT_NE(r.output.find("Profile of the 20 training steps"), std::string::npos) << r.output;
  std::ifstream in(dir / "run" / "profile.json");
  ASSERT_TRUE(in) << r.output;
  const json p = json::parse(in);
  EXPECT_EQ(p["schema"], "hdr-bench/2");
  const json& k = p["devices"][0]["kernels"];
  EXPECT_EQ(k["steps"], 20);
  std::set<std::string> scopes;
  for (const json& part : k["parts"]) scopes.insert(part["scope"].get<std::string>());
  for (const json& op : k["ops"]) EXPECT_EQ(op["calls_per_step"].get<double>(), 1.0) << op;
  for (const char* scope : {"data", "loss", "optimizer", "weight average"}) EXPECT_TRUE(scopes.count(scope)) << scope;
  size_t layers = 0;
  for (const std::string& s : scopes) layers += s.ends_with(" forward") + s.ends_with(" backward");
  EXPECT_GE(layers, 10u) << k["parts"];
}

}  // namespace
}  // namespace hdr

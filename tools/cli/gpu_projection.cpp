#include "tools/cli/gpu_projection.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/profile/kernel_resources.h"

namespace hdr::cli {
namespace {

// Every launcher but softmax's (128) uses blocks of 256 threads (kernels/*.cu).
constexpr int kBlockThreads = 256;

// Vendor datasheet figures (SXM parts): FP32 without tensor cores, HBM bandwidth.
struct GpuSpec {
  const char* name;
  double fp32_gflops, memory_gbs;
};
constexpr GpuSpec kGpus[] = {{"H100 SXM (datasheet)", 66900, 3350}, {"H200 SXM (datasheet)", 66900, 4800}};

// A kernel's time cannot go below what one launch costs back to back on a stream, whatever its
// size: the roofline alone would call a 640-value kernel free.
constexpr double kLaunchFloorMs = 0.002;
// Launch overhead, assumed (not measured here; typical figures for current drivers): the host
// spends about 3 us enqueueing each kernel or library call, so a step of many short ops can be
// bound by the host rather than the GPU. A CUDA graph replays the step with one launch, about
// 5 us of host time, and its kernel nodes follow each other about 1 us apart on the device.
constexpr double kHostLaunchMs = 0.003;
constexpr double kGraphLaunchMs = 0.005;
constexpr double kGraphNodeFloorMs = 0.001;

const char* implementation(const std::string& op) {
  if (op.starts_with("conv_")) return "cuDNN";
  if (op == "gemm") return "cuBLAS";
  if (op.starts_with("flatten_")) return "copy";
  return "hdr kernel";
}

}  // namespace

nlohmann::json static_gpu_json() {
  nlohmann::json kernels = nlohmann::json::array();
  for (const KernelResources& k : built_hdr_kernels())
    kernels.push_back({{"kernel", k.kernel},
                       {"arch", k.arch},
                       {"registers", k.registers},
                       {"spill_store_bytes", k.spill_store_bytes},
                       {"spill_load_bytes", k.spill_load_bytes},
                       {"stack_bytes", k.stack_bytes},
                       {"shared_bytes", k.shared_bytes},
                       {"occupancy", theoretical_occupancy(k, kBlockThreads)}});
  return {{"label", "static"},
          {"source", "ptxas --resource-usage of this build"},
          {"block_threads", kBlockThreads},
          {"kernels", kernels}};
}

nlohmann::json projected_gpu_json(const std::vector<OpRow>& step_ops, int batch) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const GpuSpec& gpu : kGpus) {
    nlohmann::json ops = nlohmann::json::array();
    double step_ms = 0, roofline_ms = 0, graph_gpu_ms = 0;
    for (const OpRow& r : step_ops) {
      const double compute_ms = r.cost.flops / gpu.fp32_gflops * 1e-6, memory_ms = r.cost.bytes / gpu.memory_gbs * 1e-6;
      const double ms = std::max({compute_ms, memory_ms, kLaunchFloorMs});
      roofline_ms += std::max(compute_ms, memory_ms);
      graph_gpu_ms += std::max({compute_ms, memory_ms, kGraphNodeFloorMs});
      const char* bound = ms == kLaunchFloorMs ? "launch" : compute_ms >= memory_ms ? "compute" : "memory";
      ops.push_back({{"scope", r.scope},
                     {"op", r.op},
                     {"shape", r.shape},
                     {"implementation", implementation(r.op)},
                     {"flops", r.cost.flops},
                     {"bytes", r.cost.bytes},
                     {"projected_ms", ms},
                     {"bound", bound}});
      step_ms += ms;
    }
    // With streams the step takes the longer of the GPU's work and the host's enqueueing; with a
    // graph, of the GPU's work at the graph's floor and one graph launch. Every op counts as
    // one launch (some are two or three): the host's share is a lower bound.
    const double host_ms = kHostLaunchMs * double(step_ops.size());
    const double streams_ms = std::max(step_ms, host_ms), graph_ms = std::max(graph_gpu_ms, kGraphLaunchMs);
    gpus.push_back({{"gpu", gpu.name},
                    {"fp32_gflops", gpu.fp32_gflops},
                    {"memory_gbs", gpu.memory_gbs},
                    {"projected_step_ms", step_ms},
                    {"projected_images_per_second", step_ms > 0 ? batch / (step_ms * 1e-3) : 0.0},
                    {"launches", step_ops.size()},
                    {"host_launch_ms", host_ms},
                    {"streams_step_ms", streams_ms},
                    {"launch_share", streams_ms > 0 ? (streams_ms - roofline_ms) / streams_ms : 0.0},
                    {"graph_step_ms", graph_ms},
                    {"graph_images_per_second", graph_ms > 0 ? batch / (graph_ms * 1e-3) : 0.0},
                    {"ops", ops}});
  }
  return {{"label", "projected"},
          {"method", fmt::format("each op of the step at max(FLOPs / FP32 peak, bytes / bandwidth, {} us launch "
                                 "floor), summed; shapes, FLOPs and bytes from one step profiled on the CPU",
                                 kLaunchFloorMs * 1e3)},
          {"launch_method",
           fmt::format("assumed figures, no timing: {} us of host time per launch (the step is the longer of the GPU's "
                       "work and the host's); a CUDA graph: one {} us launch and a {} us floor per kernel node",
                       kHostLaunchMs * 1e3, kGraphLaunchMs * 1e3, kGraphNodeFloorMs * 1e3)},
          {"batch", batch},
          {"gpus", gpus}};
}

// One row per kernel, one column per architecture: "registers r, occupancy".
void print_static_gpu(const nlohmann::json& s) {
  const auto& kernels = s["kernels"];
  if (kernels.empty()) {
    fmt::print("static: this build has no CUDA kernels\n");
    return;
  }
  std::vector<std::string> names, archs;
  std::map<std::pair<std::string, std::string>, const nlohmann::json*> cell;
  for (const auto& k : kernels) {
    const std::string name = k["kernel"].get<std::string>(), arch = k["arch"].get<std::string>();
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    if (std::find(archs.begin(), archs.end(), arch) == archs.end()) archs.push_back(arch);
    cell[{name, arch}] = &k;
  }
  std::sort(archs.begin(), archs.end());
  fmt::print("static (this build's ptxas report): registers per thread, theoretical occupancy at {} threads per "
             "block, spilled bytes (stores + loads) and shared memory\n  {:<48}",
             s["block_threads"].get<int>(), "kernel");
  for (const auto& arch : archs) fmt::print(" {:>11}", arch);
  fmt::print(" {:>7} {:>10}\n", "spills", "shared (B)");
  for (const auto& name : names) {
    fmt::print("  {:<48}", name);
    int spilled = 0, shared = 0;
    for (const auto& arch : archs) {
      const auto it = cell.find({name, arch});
      if (it == cell.end()) {
        fmt::print(" {:>11}", "-");
        continue;
      }
      const auto& k = *it->second;
      fmt::print(" {:>11}",
                 fmt::format("{}r {:.0f}%", k["registers"].get<int>(), 100.0 * k["occupancy"].get<double>()));
      spilled += k["spill_store_bytes"].get<int>() + k["spill_load_bytes"].get<int>();
      shared = std::max(shared, k["shared_bytes"].get<int>());
    }
    fmt::print(" {:>7} {:>10}\n", spilled, shared);
  }
}

void print_projected_gpu(const nlohmann::json& p) {
  fmt::print("projected, a roofline model and no timing ({}):\n", p["method"].get<std::string>());
  const auto& gpus = p["gpus"];
  fmt::print("  {:<60} {:<12}", "part / op", "by");
  for (const auto& g : gpus) fmt::print(" {:>24}", g["gpu"].get<std::string>());
  fmt::print("\n");
  for (size_t i = 0; i < gpus[0]["ops"].size(); ++i) {
    const auto& op = gpus[0]["ops"][i];
    fmt::print("  {:<60} {:<12}", op["scope"].get<std::string>() + " / " + op["op"].get<std::string>(),
               op["implementation"].get<std::string>());
    for (const auto& g : gpus)
      fmt::print(" {:>24}", fmt::format("{:.4f} ms {}", g["ops"][i]["projected_ms"].get<double>(),
                                        g["ops"][i]["bound"].get<std::string>()));
    fmt::print("\n");
  }
  fmt::print("  {:<73}", fmt::format("step at batch {}", p["batch"].get<int>()));
  for (const auto& g : gpus)
    fmt::print(" {:>24}", fmt::format("{:.3f} ms, {:.0f} img/s", g["projected_step_ms"].get<double>(),
                                      g["projected_images_per_second"].get<double>()));
  fmt::print("\nlaunch overhead, projected ({}):\n", p["launch_method"].get<std::string>());
  auto line = [&](const char* what, auto cell) {
    fmt::print("  {:<73}", what);
    for (const auto& g : gpus) fmt::print(" {:>24}", cell(g));
    fmt::print("\n");
  };
  line("launches (at least)", [](const auto& g) { return fmt::format("{}", g["launches"].template get<int>()); });
  line("host enqueueing",
       [](const auto& g) { return fmt::format("{:.3f} ms", g["host_launch_ms"].template get<double>()); });
  line("step with streams", [](const auto& g) {
    return fmt::format("{:.3f} ms, {:.0f}% launch", g["streams_step_ms"].template get<double>(),
                       100.0 * g["launch_share"].template get<double>());
  });
  line("step with a CUDA graph", [](const auto& g) {
    return fmt::format("{:.3f} ms, {:.0f} img/s", g["graph_step_ms"].template get<double>(),
                       g["graph_images_per_second"].template get<double>());
  });
}

}  // namespace hdr::cli

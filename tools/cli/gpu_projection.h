// What `hdr bench kernels --device cuda` can say without a GPU, labelled as such everywhere:
// "static", this build's ptxas report of each hand-written kernel (registers, spills, shared
// memory per architecture and the theoretical occupancy they allow), and "projected", the
// training step's ops (their shapes, FLOPs and bytes taken from a step profiled on the CPU, which
// runs the same ops) set against the rooflines of an H100 and an H200, with the share of the step
// that launch overhead would take and what a CUDA graph of the step would leave of it (assumed
// launch costs, stated in the output). Never a measurement.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "engine/profile/profiling_backend.h"

namespace hdr::cli {

nlohmann::json static_gpu_json();
nlohmann::json projected_gpu_json(const std::vector<OpRow>& step_ops, int batch);
void print_static_gpu(const nlohmann::json& s);
void print_projected_gpu(const nlohmann::json& p);

}  // namespace hdr::cli

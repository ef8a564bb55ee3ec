// Which GPU each rank of a data-parallel run takes. A rank takes GPU local_rank % (the GPUs it
// sees): all of a machine's GPUs visible to every rank (mpirun alone) gives each local rank its
// own; one GPU per rank (SLURM's --gpus-per-task=1 sets CUDA_VISIBLE_DEVICES per rank) gives
// each its only one. Two ranks of one machine on the same physical GPU (more ranks than GPUs)
// are refused: they would run at half speed each and share its memory.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hdr {

// local_rank % visible_devices; InputError when no device is visible.
int rank_gpu(int local_rank, int visible_devices);

// Given every rank's "host/GPU UUID" (Communicator::gather, rank order): why two ranks share a
// GPU, naming them, or nothing.
std::optional<std::string> shared_gpu(const std::vector<std::string>& rank_devices);

}  // namespace hdr

// See rank_gpu.h.
#include "engine/distributed/rank_gpu.h"

#include <fmt/format.h>

#include <map>

#include "engine/core/errors.h"

namespace hdr {

int rank_gpu(int local_rank, int visible_devices) {
  if (visible_devices <= 0) throw InputError("no GPU visible to this rank");
  return local_rank % visible_devices;
}

std::optional<std::string> shared_gpu(const std::vector<std::string>& rank_devices) {
  std::map<std::string, size_t> first_rank;
  for (size_t r = 0; r < rank_devices.size(); ++r) {
    const auto [it, inserted] = first_rank.emplace(rank_devices[r], r);
    if (!inserted)
      return fmt::format("ranks {} and {} would share one GPU ({}): start at most as many ranks per machine as it has "
                         "GPUs, or train with --device cpu",
                         it->second, r, rank_devices[r]);
  }
  return std::nullopt;
}

}  // namespace hdr

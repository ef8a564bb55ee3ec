// The checks made before a run starts; the loop is in training_loop.cpp, a run assembled in training_run.cpp.
#include "engine/train/trainer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "engine/core/errors.h"

namespace hdr {
namespace fs = std::filesystem;

void prepare_output_dir(const fs::path& dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (fs::exists(status) && !fs::is_directory(status))
    throw InputError(fmt::format("{}: exists and is not a folder (the run's files need a folder)", dir.string()));
  if (!fs::exists(status) && !fs::create_directories(dir, ec) && ec)
    throw InputError(fmt::format("{}: cannot create the output folder: {}", dir.string(), ec.message()));
  // Known before any training is done, rather than when the first checkpoint is due.
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw InputError(fmt::format("{}: the output folder is not writable: {}", dir.string(), std::strerror(errno)));
}

double monitored_value(const EpochRecord& r, const std::string& monitor) {
  if (monitor == "loss") return r.loss;
  if (monitor == "accuracy") return r.accuracy;
  if (monitor == "val_loss") return r.val_loss;
  if (monitor == "val_accuracy") return r.val_accuracy;
  throw InputError(fmt::format("unknown monitor '{}'", monitor));
}

}  // namespace hdr

#include "tools/cli/served_model.h"

#include <fmt/format.h>

#include "engine/core/errors.h"
#include "tools/cli/common.h"

namespace hdr::cli {

ServedModel::ServedModel(std::filesystem::path file, BuildPool build)
    : file_(std::move(file)), build_(std::move(build)) {
  const TrainedModel trained = read_trained_model(file_);
  name_ = trained.config.model.name;
  classes_ = trained.config.model.classes;
  geometry_ = digit_geometry(trained.config.model, file_.string());
  pool_ = build_(trained);
}

void ServedModel::reload() {
  const std::lock_guard one_at_a_time(reloading_);
  const TrainedModel trained = read_trained_model(file_);
  const ModelSpec& spec = trained.config.model;
  const DigitGeometry g = digit_geometry(spec, file_.string());
  if (spec.name != name_ || spec.classes != classes_ || g.side != geometry_.side)
    throw InputError(fmt::format("{} now holds model '{}' ({} classes, {}x{} input); this server serves '{}' ({} "
                                 "classes, {}x{}): start a new server for another model",
                                 file_.string(), spec.name, spec.classes, g.side, g.side, name_, classes_,
                                 geometry_.side, geometry_.side));
  std::shared_ptr<PredictorPool> pool = build_(trained);  // outside the lock: requests go on meanwhile
  const std::lock_guard lock(mutex_);
  pool_ = std::move(pool);
  ++loads_;
}

std::shared_ptr<PredictorPool> ServedModel::current() const {
  const std::lock_guard lock(mutex_);
  return pool_;
}

int64_t ServedModel::loads() const {
  const std::lock_guard lock(mutex_);
  return loads_;
}

}  // namespace hdr::cli

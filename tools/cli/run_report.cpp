#include "tools/cli/run_report.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <numeric>

#include "engine/backends/build_info.h"
#include "engine/backends/version.h"
#include "engine/core/thousands.h"
#include "engine/nn/model.h"
#include "tools/report/evaluation.h"
#include "tools/report/report_page.h"
#include "tools/report/run_record.h"

namespace hdr::cli {

std::string parameter_summary(const ParamCounts& counts) {
  return counts.non_trainable ? fmt::format("{} ({} non-trainable)", with_thousands(counts.total()),
                                            with_thousands(counts.non_trainable))
                              : with_thousands(counts.total());
}

std::string utc_now() {
  return fmt::format("{:%Y-%m-%d %H:%M} UTC",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

void report_training_run(const Config& config, Backend& backend, const Datasets& data, const TrainResult& result,
                         const std::filesystem::path& out_dir) {
  const report::Evaluation evaluation = report::analyse(result.test, data.test.labels);
  fmt::print("\n{}\n{}\n", report::classification_table(evaluation), report::confusion_table(result.test));

  const ParamCounts counts = Model(config.model, backend, 1).counts();
  double images_per_second = 0;
  for (const EpochRecord& r : result.history) images_per_second += r.images_per_second / double(result.history.size());
  const int epochs = int(result.history.size());
  const std::string overrides = config.overrides.empty() ? "none" : fmt::format("{}", fmt::join(config.overrides, " "));
  std::string epochs_text = fmt::format("{} of {}", epochs, config.train.epochs);
  if (result.stopped_early) epochs_text += " (early stop)";

  report::ReportInput input{
      .title = fmt::format("{}: training run", config.model.name),
      .facts = {{"model", fmt::format("{}, {} parameters", config.model.name, parameter_summary(counts))},
                {"config", config.source},
                {"overrides", overrides},
                {"data", fmt::format("{}: {} training, {} validation, {} test images", config.data.dir,
                                     data.train.count(), data.validation.count(), data.test.count())},
                {"device", backend.name()},
                {"epochs", epochs_text},
                {"best epoch", result.best_epoch ? std::to_string(result.best_epoch) : "-"},
                {"seed", std::to_string(config.train.seed)},
                {"wall time", fmt::format("{:.1f} s", result.seconds)},
                {"throughput", fmt::format("{} images/s (training, mean over epochs)",
                                           with_thousands(int64_t(std::llround(images_per_second))))},
                {"test accuracy", fmt::format("{:.2f}%", 100 * result.test.accuracy)},
                {"hdr", build_label()},
                {"made", utc_now()}},
      .config_text = config.text,
      .history = result.history,
      .best_epoch = result.best_epoch,
      .early_stop_epoch = result.stopped_early ? epochs : 0,
      .evaluation = &evaluation,
      .images = &data.test};
  report::write_report(out_dir, input);
  report::write_run_record(out_dir, {.model = config.model.name,
                                     .config_source = config.source,
                                     .device = backend.name(),
                                     .hdr_version = HDR_VERSION,
                                     .overrides = config.overrides,
                                     .parameters = counts.total(),
                                     .epochs = epochs,
                                     .best_epoch = result.best_epoch,
                                     .stopped_early = result.stopped_early,
                                     .wall_seconds = result.seconds,
                                     .images_per_second = images_per_second,
                                     .test_accuracy = result.test.accuracy,
                                     .test_loss = result.test.loss});
  fmt::print("Report: {}\n", (out_dir / "report.html").string());
}

}  // namespace hdr::cli

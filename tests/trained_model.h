// The trained model the e2e tests share: seed 004's tutorial CNN, one epoch on all 60,000
// training images (about 98% on the MNIST test set). CTest trains it once per run (the fixture
// fixture.train_tutorial_model, into HDR_TUTORIAL_MODEL); a test binary run by hand without it
// trains its own on first use. Either way inside the test that asks, not in a fixture's set-up,
// so that a failure fails that test instead of turning the suite into SKIPPED.
#pragma once

#include <filesystem>

#include "engine/backend.h"
#include "engine/config.h"
#include "engine/dataset.h"
#include "engine/trainer.h"
#include "tests/temp_dir.h"

namespace hdr::test {

inline const std::filesystem::path& tutorial_model() {
  static TempDir dir;
  static const std::filesystem::path path = []() -> std::filesystem::path {
    if (std::filesystem::is_regular_file(HDR_TUTORIAL_MODEL)) return HDR_TUTORIAL_MODEL;
    if (!MnistFiles("data/mnist").all_present())
      throw std::runtime_error("data/mnist lacks the MNIST files: run tools/fetch_mnist.sh data/mnist");
    const Config config = load_config("configs/cnn_tutorial.ini", {"train.epochs=1", "data.validation_split=0"});
    auto backend = make_cpu_backend(0);
    TrainOptions options;
    options.out_dir = dir.path();
    options.progress = false;
    return train(config, *backend, load_datasets(config.data, config.model, config.train.seed), options).checkpoint;
  }();
  return path;
}

}  // namespace hdr::test

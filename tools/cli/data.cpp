// `hdr data`: validates an MNIST-format data folder and prints what it holds.
#include <fmt/format.h>

#include <array>

#include "engine/errors.h"
#include "engine/idx.h"
#include "tools/cli/commands.h"

namespace hdr::cli {

namespace {

void print_split(const char* name, const LabelledImages& set) {
  std::array<int, 256> histogram{};
  for (uint8_t l : set.labels) ++histogram[l];
  std::string counts;
  for (int c = 0; c < set.num_classes; ++c) counts += fmt::format("{}{}", c ? "," : "", histogram[c]);
  fmt::print("{:<5} {:>6} images of {}x{}, labels per class: {}\n", name, set.count(), set.images.rows,
             set.images.cols, counts);
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "Check an MNIST-format data folder (IDX files) and summarise it");
  auto dir = std::make_shared<std::string>("data/mnist");
  auto classes = std::make_shared<int>(10);
  cmd->add_option("--data", *dir, "Folder with the four IDX files (tools/fetch_mnist.sh puts them there)")
      ->capture_default_str();
  cmd->add_option("--classes", *classes, "Number of classes the labels must fall in")
      ->check(CLI::Range(2, 256))
      ->capture_default_str();
  cmd->callback([dir, classes] {
    const MnistFiles files(*dir);
    if (!files.all_present())
      throw InputError(fmt::format("{}: the four MNIST IDX files are not all there (run tools/fetch_mnist.sh {})",
                                   *dir, *dir));
    print_split("train", read_idx_pair(files.train_images, files.train_labels, *classes));
    print_split("test", read_idx_pair(files.test_images, files.test_labels, *classes));
  });
}

}  // namespace hdr::cli

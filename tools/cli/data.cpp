// `hdr data`: validates an MNIST-format data folder and prints what it holds; --export writes
// its images as PNG files (sample inputs for `hdr predict` and the serve page, benchmarks).
#include <fmt/format.h>

#include <array>

#include <filesystem>

#include "engine/core/errors.h"
#include "engine/io/idx.h"
#include "engine/io/image_io.h"
#include "tools/cli/commands.h"

namespace hdr::cli {

namespace {

void print_split(const char* name, const LabelledImages& set) {
  std::array<int, 256> histogram{};
  for (uint8_t l : set.labels) ++histogram[l];
  std::string counts;
  for (int c = 0; c < set.num_classes; ++c) counts += fmt::format("{}{}", c ? "," : "", histogram[c]);
  fmt::print("{:<5} {:>6} images of {}x{}, labels per class: {}\n", name, set.count(), set.images.rows, set.images.cols,
             counts);
}

// Writes the first `count` images of `set` as <prefix>-<index>-<label>.png into dir.
void export_png(const LabelledImages& set, const std::string& prefix, int count, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const int n = count > 0 ? std::min(count, set.count()) : set.count();
  const size_t pixels = size_t(set.images.rows) * size_t(set.images.cols);
  for (int i = 0; i < n; ++i) {
    const std::span<const uint8_t> image(set.images.pixels.data() + size_t(i) * pixels, pixels);
    write_png(dir / fmt::format("{}-{:05}-{}.png", prefix, i, set.labels[size_t(i)]), image, set.images.cols,
              set.images.rows);
  }
  fmt::print("exported {} {} images to {} as PNG (<set>-<index>-<label>.png)\n", n, prefix, dir.string());
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
  auto export_dir = std::make_shared<std::string>();
  auto split = std::make_shared<std::string>("test");
  auto count = std::make_shared<int>(0);
  cmd->add_option("--export", *export_dir, "Also write the images of --split as PNG files into this folder");
  cmd->add_option("--split", *split, "Which set --export writes")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  cmd->add_option("--count", *count, "How many images --export writes (0: all)")->check(CLI::NonNegativeNumber);
  cmd->callback([dir, classes, export_dir, split, count] {
    const MnistFiles files(*dir);
    if (!files.all_present())
      throw InputError(
          fmt::format("{}: the four MNIST IDX files are not all there (run tools/fetch_mnist.sh {})", *dir, *dir));
    const LabelledImages train = read_idx_pair(files.train_images, files.train_labels, *classes);
    const LabelledImages test = read_idx_pair(files.test_images, files.test_labels, *classes);
    print_split("train", train);
    print_split("test", test);
    if (!export_dir->empty()) export_png(*split == "train" ? train : test, *split, *count, *export_dir);
  });
}

}  // namespace hdr::cli

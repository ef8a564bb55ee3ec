// `hdr predict MODEL IMAGE|DIR... [--ensemble MODEL]...`: recognises the user's own digit images
// (PNG, JPEG, BMP, GIF; drawings, scans, photos). Each image is preprocessed the way MNIST was made
// (engine/preprocess) and classified, by MODEL or, with --ensemble, by the mean of the
// probabilities of MODEL and the models named there (engine/inference/ensemble.h); one line per image with
// the digit, its confidence and the top K, or one JSON object per line with --json. Folders are
// walked recursively. A file that cannot be read or holds no digit is reported for that file and
// the rest go on; the exit code is then 1. With --number each image is a line of digits, read
// as a number (engine/io/read_number.h): the number, its confidence and each digit's box.
//
// Files are decoded and preprocessed in parallel (OpenMP, the --threads pool) in chunks, and each
// chunk is classified in batches, so a folder of thousands of images runs at inference speed.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/core/errors.h"
#include "engine/inference/ensemble.h"
#include "engine/inference/inference.h"
#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"
#include "engine/io/read_number.h"
#include "tools/cli/commands.h"
#include "tools/cli/common.h"
#include "tools/cli/prediction_json.h"

namespace hdr::cli {
namespace {
namespace fs = std::filesystem;

struct PredictArgs {
  std::string model;
  std::vector<std::string> ensemble;  // further models whose probabilities are averaged with model's
  std::vector<std::string> inputs;
  int top = 3;
  bool json = false;
  bool number = false;
  std::string save_dir;
  DeviceOptions device;
};

// One image to classify: where it was found, and where its preprocessed copy would go (relative).
struct InputFile {
  fs::path path, save_as;
};

// A named input that gave no image, and why (the message names it).
struct Failure {
  std::string input, why;
};

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif";
}

// Where --save-preprocessed puts the image of `path`: the path as given, made relative (".."
// becomes "_"), with ".png" appended unless it has it, so that no two inputs share an output.
fs::path save_name(const fs::path& path) {
  fs::path out;
  for (const fs::path& part : path.lexically_normal().relative_path()) out /= part == ".." ? fs::path("_") : part;
  return out.extension() == ".png" ? out : fs::path(out.string() + ".png");
}

// Files named on the command line are taken as they are; folders contribute their image files,
// sorted. A name that is neither is an input error for that name.
std::vector<InputFile> gather_inputs(const std::vector<std::string>& inputs, std::vector<Failure>& failures) {
  std::vector<InputFile> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      std::vector<InputFile> found;
      for (fs::recursive_directory_iterator it(input, fs::directory_options::skip_permission_denied, ec), end;
           !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec) && has_image_extension(it->path()))
          found.push_back({it->path(), save_name(it->path())});
      if (ec) failures.push_back({input, fmt::format("{}: cannot walk this folder ({})", input, ec.message())});
      std::sort(found.begin(), found.end(), [](const InputFile& a, const InputFile& b) { return a.path < b.path; });
      if (found.empty() && !ec)
        failures.push_back({input, fmt::format("{}: no PNG, JPEG, BMP or GIF files in this folder", input)});
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(input, ec)) {
      files.push_back({input, save_name(input)});
    } else {
      failures.push_back({input, fmt::format("{}: no such file or folder", input)});
    }
  }
  return files;
}

// One JSON line; a file name that is not UTF-8 (Linux allows any bytes) gets U+FFFD where
// nlohmann's dump would throw.
std::string json_line(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_prediction(const PredictArgs& args, const std::string& file, std::span<const float> probabilities) {
  if (args.json) {
    nlohmann::json out = {{"file", file}};
    out.update(prediction_json(probabilities, args.top));
    fmt::print("{}\n", json_line(out));
    return;
  }
  const std::vector<int> top = top_classes(probabilities, args.top);
  std::string ranked;
  for (int c : top)
    ranked += fmt::format("{}{} {:.2f}%", ranked.empty() ? "" : ", ", c, 100.0 * probabilities[size_t(c)]);
  fmt::print("{}: {} ({:.2f}%)  top-{}: {}\n", file, top[0], 100.0 * probabilities[size_t(top[0])], args.top, ranked);
}

void print_number(const PredictArgs& args, const std::string& file, const NumberReading& reading) {
  if (args.json) {
    nlohmann::json out = {{"file", file}};
    out.update(number_json(reading, args.top));
    fmt::print("{}\n", json_line(out));
    return;
  }
  std::string digits;
  for (const NumberDigit& d : reading.digits)
    digits += fmt::format("{}{} {:.1f}% at ({}, {}) {}x{}", digits.empty() ? "" : "; ", d.prediction,
                          100.0 * d.confidence, d.x, d.y, d.width, d.height);
  fmt::print("{}: {} ({:.2f}%)  digits: {}\n", file, reading.text, 100.0 * reading.confidence, digits);
}

void report_failure(const PredictArgs& args, const std::string& file, const std::string& why) {
  fmt::print(stderr, "hdr: {}\n", why);
  if (args.json) fmt::print("{}\n", json_line({{"file", file}, {"error", why}}));
}

// Reads, decodes and preprocesses files[first, first + count) in parallel into images (count x
// side x side); why[i] is non-empty when file first + i failed.
void preprocess_chunk(const std::vector<InputFile>& files, size_t first, size_t count, DigitGeometry geometry,
                      std::vector<float>& images, std::vector<std::string>& why) {
  const size_t per_image = size_t(geometry.side) * size_t(geometry.side);
  images.assign(count * per_image, 0.0f);
  why.assign(count, "");
#pragma omp parallel for schedule(dynamic, 8)
  for (size_t i = 0; i < count; ++i) {
    const fs::path& path = files[first + i].path;
    try {
      const std::vector<float> image = mnist_style(read_image_file(path), path.string(), geometry);
      std::copy(image.begin(), image.end(), images.begin() + int64_t(i * per_image));
    } catch (const InputError& e) {
      why[i] = e.what();
    } catch (const std::exception& e) {
      why[i] = fmt::format("{}: {}", path.string(), e.what());
    }
  }
}

// Writes the image the model saw as PNG; returns what went wrong, or "".
std::string save_preprocessed(const fs::path& out, std::span<const float> image, DigitGeometry geometry) {
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  if (ec)
    return fmt::format("cannot create the folder {} for its preprocessed image ({})", out.parent_path().string(),
                       ec.message());
  try {
    write_png(out, to_bytes(std::vector<float>(image.begin(), image.end())), geometry.side, geometry.side);
  } catch (const std::runtime_error& e) {
    return fmt::format("cannot save its preprocessed image: {}", e.what());
  }
  return "";
}

// Classifies the files as single digits, in parallel chunks; returns how many failed.
size_t predict_digits(const PredictArgs& args, const std::vector<InputFile>& files, DigitGeometry geometry,
                      EnsemblePredictor& predictor) {
  constexpr size_t kChunk = 4096;  // files preprocessed before a round of inference: bounds memory
  std::vector<float> images, batch;
  std::vector<std::string> why;
  size_t failed = 0;
  for (size_t first = 0; first < files.size(); first += kChunk) {
    const size_t count = std::min(kChunk, files.size() - first);
    preprocess_chunk(files, first, count, geometry, images, why);
    const size_t per_image = images.size() / count;
    batch.clear();
    for (size_t i = 0; i < count; ++i)
      if (why[i].empty())
        batch.insert(batch.end(), images.begin() + int64_t(i * per_image),
                     images.begin() + int64_t((i + 1) * per_image));
    const std::vector<float> probabilities = predictor.predict(batch);
    size_t row = 0;
    for (size_t i = 0; i < count; ++i) {
      const InputFile& f = files[first + i];
      if (!why[i].empty()) {
        report_failure(args, f.path.string(), why[i]);
        ++failed;
        continue;
      }
      const size_t classes = size_t(predictor.classes());
      const std::span<const float> p = std::span(probabilities).subspan(row++ * classes, classes);
      if (!args.save_dir.empty()) {
        const std::span<const float> image(images.data() + i * per_image, per_image);
        if (const std::string error = save_preprocessed(fs::path(args.save_dir) / f.save_as, image, geometry);
            !error.empty()) {
          report_failure(args, f.path.string(), fmt::format("{}: {}", f.path.string(), error));
          ++failed;
          continue;
        }
      }
      print_prediction(args, f.path.string(), p);
    }
  }
  return failed;
}

// Reads each file as a number, one after the other (segmentation asks the model as it goes);
// returns how many failed. --save-preprocessed writes digit k of a.png as a.png.k.png.
size_t predict_numbers(const PredictArgs& args, const std::vector<InputFile>& files, DigitGeometry geometry,
                       EnsemblePredictor& predictor) {
  const DigitClassifier classify = [&](std::span<const float> images) { return predictor.predict(images); };
  size_t failed = 0;
  for (const InputFile& f : files) {
    const std::string name = f.path.string();
    try {
      const NumberReading reading = read_number(read_image_file(f.path), name, classify, geometry);
      std::string error;
      for (size_t k = 0; k < reading.digits.size() && error.empty() && !args.save_dir.empty(); ++k)
        error = save_preprocessed(fs::path(args.save_dir) / fmt::format("{}.{}.png", f.save_as.string(), k),
                                  reading.digits[k].image, geometry);
      if (!error.empty()) throw InputError(fmt::format("{}: {}", name, error));
      print_number(args, name, reading);
    } catch (const InputError& e) {
      report_failure(args, name, e.what());
      ++failed;
    }
  }
  return failed;
}

void run_predict(const PredictArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> model_files = args.ensemble;
  model_files.insert(model_files.begin(), args.model);
  const std::vector<TrainedModel> models = read_trained_models(model_files);
  const ModelSpec& spec = models.front().config.model;
  const DigitGeometry geometry = digit_geometry(spec, args.model);
  if (args.top > spec.classes)
    throw InputError(fmt::format("--top {}: the model has only {} classes", args.top, spec.classes));

  if (!args.save_dir.empty()) {
    std::error_code ec;
    fs::create_directories(args.save_dir, ec);
    if (ec || !fs::is_directory(args.save_dir))
      throw InputError(fmt::format("--save-preprocessed {}: cannot create this folder ({})", args.save_dir,
                                   ec ? ec.message() : "a file is in the way"));
  }
  std::vector<Failure> failures;
  const std::vector<InputFile> files = gather_inputs(args.inputs, failures);
  for (const Failure& f : failures) report_failure(args, f.input, f.why);
  auto backend = make_backend(args.device);
  EnsemblePredictor predictor(models, *backend);
  const size_t failed = failures.size() + (args.number ? predict_numbers(args, files, geometry, predictor)
                                                       : predict_digits(args, files, geometry, predictor));
  const size_t done = files.size() + failures.size() - failed;

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string by = models.size() == 1 ? fmt::format("model {}", args.model)
                                            : fmt::format("ensemble of {} models", models.size());
  fmt::print(stderr, "predict: {} image{} {} in {:.2f} s ({:.0f} images/s), {} failed; {} on {}\n", done,
             done == 1 ? "" : "s", args.number ? "read as numbers" : "classified", seconds,
             seconds > 0 ? double(done) / seconds : 0.0, failed, by, backend->name());
  if (failed)
    throw std::runtime_error(
        fmt::format("{} of {} input{} failed (see above)", failed, done + failed, done + failed == 1 ? "" : "s"));
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "Recognise digits in your own images (PNG, JPEG, BMP, GIF)");
  auto args = std::make_shared<PredictArgs>();
  cmd->add_option("model", args->model, "Trained model (model.hdr from hdr train)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("images", args->inputs, "Image files and folders (walked recursively)")->required();
  cmd->add_option("--ensemble", args->ensemble,
                  "Another trained model whose probabilities are averaged with MODEL's (repeat for more)")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  cmd->add_option("--top", args->top, "How many of the most probable digits to list")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("--json", args->json,
                "One JSON object per image on stdout: file, prediction, confidence, top, probabilities");
  cmd->add_flag("--number", args->number,
                "Read each image as a line of digits (a number): the number, its confidence and each digit's "
                "box and prediction");
  cmd->add_option("--save-preprocessed", args->save_dir,
                  "Write the 28x28 image the model saw for each input, as PNG, into this folder");
  args->device.add_to(*cmd);
  cmd->callback([args] { run_predict(*args); });
}

}  // namespace hdr::cli

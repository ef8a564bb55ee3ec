// Recognising users' own images: the inference API on MNIST digits turned into what users hand
// over (tests/user_style_digits.h), and `hdr predict` as a user runs it: lines, JSON, folders,
// failures reported per file, the preprocessed images it saves.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/inference/inference.h"
#include "engine/io/idx.h"
#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"
#include "tests/mnist_test_set.h"
#include "tests/process.h"
#include "tests/temp_dir.h"
#include "tests/trained_model.h"
#include "tests/user_style_digits.h"

namespace hdr {
namespace {
namespace fs = std::filesystem;

std::span<const uint8_t> digit(int i) { return test::mnist_digit(i); }
int label(int i) { return test::mnist_label(i); }

int argmax(std::span<const float> p) { return int(std::max_element(p.begin(), p.end()) - p.begin()); }

// Classifies images (n x 784 in [0, 1]) with the shared model.
std::vector<int> classify(const std::vector<float>& images) {
  static const TrainedModel trained = read_trained_model(test::tutorial_model());
  static const auto backend = make_cpu_backend(0);
  static Predictor predictor(trained, *backend);
  const std::vector<float> p = predictor.predict(images);
  std::vector<int> out;
  for (size_t i = 0; i < p.size(); i += 10) out.push_back(argmax(std::span(p).subspan(i, 10)));
  return out;
}

std::vector<float> scaled(std::span<const uint8_t> pixels) {
  std::vector<float> v;
  for (uint8_t b : pixels) v.push_back(b / 255.0f);
  return v;
}

// 1,000 MNIST test digits, each turned into one of the user styles in turn (off-centre, scaled,
// inverted, thickened, RGB, alpha ink, JPEG, noisy photo), preprocessed and classified: the
// accuracy stays within one point of the model's accuracy on the same digits as MNIST has them.
TEST(UserImages, AccuracyStaysWithinOnePointOfMnist) {
  constexpr int kCount = 1000;
  std::vector<float> originals, user_style;
  std::array<int, test::kUserStyles.size()> per_style{}, right_per_style{};
  for (int i = 0; i < kCount; ++i) {
    const std::vector<float> o = scaled(digit(i));
    originals.insert(originals.end(), o.begin(), o.end());
    const auto style = test::kUserStyles[size_t(i) % test::kUserStyles.size()];
    const std::vector<uint8_t> file = test::user_style_image(digit(i), style, uint32_t(i));
    const std::vector<float> u = preprocess_image(file, test::user_style_name(style));
    user_style.insert(user_style.end(), u.begin(), u.end());
  }
  const std::vector<int> on_mnist = classify(originals), on_user = classify(user_style);
  int mnist_right = 0, user_right = 0;
  for (int i = 0; i < kCount; ++i) {
    mnist_right += on_mnist[size_t(i)] == label(i);
    user_right += on_user[size_t(i)] == label(i);
    const size_t s = size_t(i) % test::kUserStyles.size();
    ++per_style[s];
    right_per_style[s] += on_user[size_t(i)] == label(i);
  }
  std::string styles;
  for (size_t s = 0; s < per_style.size(); ++s)
    styles += fmt::format("{} {}/{}; ", test::user_style_name(test::kUserStyles[s]), right_per_style[s], per_style[s]);
  RecordProperty("per_style", styles);
  EXPECT_GE(user_right, mnist_right - kCount / 100) << "MNIST " << mnist_right << "/" << kCount << ", user-style "
                                                    << user_right << "/" << kCount << " (" << styles << ")";
  EXPECT_GT(mnist_right, 900);  // the shared model is a real one
}

// The first five digits of each class, in every style: at least 48 of the 50 come back as their
// label in each style (the thickened style turns the odd open 3 into an 8, as it would for a
// person).
TEST(UserImages, EachStyleOfFiveDigitsPerClassIsClassifiedAsTheLabel) {
  std::vector<int> chosen;
  for (int c = 0; c < 10; ++c)
    for (int i = 0, found = 0; found < 5; ++i)
      if (label(i) == c) {
        chosen.push_back(i);
        ++found;
      }
  for (const auto style : test::kUserStyles) {
    std::vector<float> images;
    for (int i : chosen) {
      const std::vector<float> u = preprocess_image(test::user_style_image(digit(i), style, uint32_t(i)), "image");
      images.insert(images.end(), u.begin(), u.end());
    }
    const std::vector<int> got = classify(images);
    std::string wrong;
    for (size_t k = 0; k < chosen.size(); ++k)
      if (got[k] != label(chosen[k]))
        wrong += fmt::format(" test digit {} ({}) as {};", chosen[k], label(chosen[k]), got[k]);
    EXPECT_LE(std::count(wrong.begin(), wrong.end(), ';'), 2) << test::user_style_name(style) << ":" << wrong;
  }
}

// --- hdr predict ---

struct Folder {
  test::TempDir dir;
  // digits 0..count-1 as PNG files, some in a subfolder, plus a blank image and a text file.
  explicit Folder(int count) {
    std::filesystem::create_directories(dir / "sub");
    for (int i = 0; i < count; ++i)
      write_png(dir / fmt::format("{}d{}-{}.png", i % 2 ? "sub/" : "", i, label(i)), digit(i), 28, 28);
  }
};

test::ProcessResult predict(const std::string& args) {
  return test::run_command(
      fmt::format("{} predict --device cpu '{}' {}", HDR_EXE, test::tutorial_model().string(), args));
}

TEST(PredictCommand, OneLinePerImageWithDigitConfidenceAndTop3) {
  Folder f(4);
  const auto r = predict(fmt::format("'{}' '{}'", (f.dir / "d0-7.png").string(), (f.dir / "sub/d1-2.png").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("d0-7.png: 7 ("), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("d1-2.png: 2 ("), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("top-3: 7 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("predict: 2 images classified"), std::string::npos) << r.output;
}

TEST(PredictCommand, JsonIsOneObjectPerLineOnStdout) {
  Folder f(6);
  const auto r = test::run_command(fmt::format("({} predict --json --top 5 --device cpu '{}' '{}' 2>/dev/null)",
                                               HDR_EXE, test::tutorial_model().string(), f.dir.path().string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);  // throws, failing the test, on anything else
    const std::string file = j["file"];
    const int expected = file[file.size() - 5] - '0';  // "...-<label>.png"
    EXPECT_EQ(j["prediction"], expected) << line;
    EXPECT_EQ(j["top"].size(), 5u);
    EXPECT_EQ(j["top"][0][0], j["prediction"]);
    EXPECT_EQ(j["confidence"], j["probabilities"][size_t(expected)]);
    EXPECT_EQ(j["probabilities"].size(), 10u);
    ++count;
  }
  EXPECT_EQ(count, 6);  // the folder is walked into sub/
}

// With --json, stdout holds only JSON objects, failures included; messages go to stderr.
TEST(PredictCommand, JsonStdoutStaysPureWhenFilesFail) {
  Folder f(2);
  std::ofstream(f.dir / "broken.png") << "not an image";
  const auto r = test::run_command(fmt::format("({} predict --json '{}' '{}' '{}' 2>/dev/null)", HDR_EXE,
                                               test::tutorial_model().string(), f.dir.path().string(),
                                               (f.dir / "missing.png").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  std::istringstream lines(r.output);
  std::string line;
  int predictions = 0, errors = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);  // throws, failing the test, on anything else
    (j.contains("error") ? errors : predictions) += 1;
  }
  EXPECT_EQ(predictions, 2);
  EXPECT_EQ(errors, 2);
}

TEST(PredictCommand, ABadFileIsReportedAndTheOthersGoOn) {
  Folder f(2);
  const std::vector<uint8_t> white(28 * 28, 255);
  write_png(f.dir / "blank.png", white, 28, 28);
  std::ofstream(f.dir / "notes.png") << "not an image";
  const auto r = predict(fmt::format("--json '{}' '{}'", f.dir.path().string(), (f.dir / "missing.png").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("blank.png: no ink found"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("notes.png: not a PNG, JPEG, BMP or GIF"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing.png: no such file or folder"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"prediction\":7"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"prediction\":2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3 of 5 inputs failed"), std::string::npos) << r.output;
}

TEST(PredictCommand, SavesThePreprocessedImagesTheModelSaw) {
  Folder f(2);
  const auto user = test::user_style_image(digit(0), test::UserStyle::kInverted, 1);
  test::write_bytes(f.dir / "photo.jpg", user);
  test::TempDir out;
  const auto r = predict(fmt::format("--save-preprocessed '{}' '{}'", out.path().string(), f.dir.path().string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Saved under the input's own path (made relative), so inputs never overwrite each other.
  const fs::path saved = out / f.dir.path().relative_path().string();
  for (const char* name : {"d0-7.png", "sub/d1-2.png", "photo.jpg.png"}) {
    const DecodedImage image = read_image_file(saved / name);
    EXPECT_EQ(image.width, 28) << name;
    EXPECT_EQ(image.height, 28) << name;
    EXPECT_EQ(image.channels, 1) << name;
  }
  // The inverted 10x photo came back light on dark, like MNIST: the corners are background.
  const DecodedImage photo = read_image_file(saved / "photo.jpg.png");
  EXPECT_EQ(photo.pixels[0], 0);
  EXPECT_GT(*std::max_element(photo.pixels.begin(), photo.pixels.end()), 200);
}

TEST(PredictCommand, InputsWithTheSameNameAreSavedApart) {
  test::TempDir in, out;
  fs::create_directories(in / "a");
  fs::create_directories(in / "b");
  write_png(in / "a/x.png", digit(0), 28, 28);
  write_png(in / "b/x.png", digit(1), 28, 28);
  const auto r = predict(fmt::format("--save-preprocessed '{}' '{}' '{}'", out.path().string(),
                                     (in / "a/x.png").string(), (in / "b/x.png").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path saved = out / in.path().relative_path().string();
  EXPECT_NE(test::read_bytes(saved / "a/x.png"), test::read_bytes(saved / "b/x.png"));
}

TEST(PredictCommand, AnUnwritableSaveFolderIsRefusedBeforeAnyWork) {
  Folder f(1);
  const auto r = predict(
      fmt::format("--save-preprocessed /proc/hdr-cannot-be-here '{}'", (f.dir / "d0-7.png").string()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--save-preprocessed /proc/hdr-cannot-be-here: cannot create this folder"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("d0-7.png: 7"), std::string::npos) << r.output;
}

TEST(PredictCommand, BadArgumentsExit2) {
  Folder f(1);
  EXPECT_EQ(predict(fmt::format("--top 11 '{}'", (f.dir / "d0-7.png").string())).exit_code, 2);
  EXPECT_EQ(predict("").exit_code, 2);
  const auto r = test::run_command(fmt::format("{} predict /nonexistent.hdr x.png", HDR_EXE));
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace hdr

// How well `hdr predict --number` reads whole numbers: composes numbers of 2-10 digits from the
// MNIST test digits (bench/numbers/number_set.h), renders each to PNG and back, reads it, and reports
// digit and whole-number accuracy by number length and by gap kind (bench/README.md records
// results):
//   hdr_number_bench MODEL [--count N] [--seed S] [--data DIR] [--save DIR] [--threads T] [--json]
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "bench/numbers/number_set.h"
#include "engine/core/errors.h"
#include "engine/inference/inference.h"
#include "engine/io/read_number.h"

namespace {

using hdr::bench::GapKind;
using hdr::bench::ReadingTally;

struct Options {
  std::string model, data = "data/mnist", save;
  int count = 3000, threads = 0;
  uint64_t seed = 1;
  bool json = false;
};

struct Tallies {
  std::map<std::pair<int, GapKind>, ReadingTally> by_length_and_gap;
  std::map<GapKind, ReadingTally> by_gap;
  std::map<int, ReadingTally> by_size;
  ReadingTally all;
};

void print_table(const Tallies& t) {
  fmt::print("{:>6} | {:^22} | {:^22} | {:^22}\n", "digits", "apart", "one touching pair", "one overlapping pair");
  fmt::print("{:>6} | {:^22} | {:^22} | {:^22}\n", "", "numbers  digit  whole", "numbers  digit  whole",
             "numbers  digit  whole");
  std::map<int, bool> lengths;
  for (const auto& [key, tally] : t.by_length_and_gap) lengths[key.first] = true;
  for (const auto& [length, unused] : lengths) {
    fmt::print("{:>6}", length);
    for (GapKind gap : hdr::bench::kGapKinds) {
      const auto it = t.by_length_and_gap.find({length, gap});
      if (it == t.by_length_and_gap.end()) {
        fmt::print(" | {:22}", "");
        continue;
      }
      const ReadingTally& r = it->second;
      fmt::print(" | {:7} {:5.1f}% {:5.1f}%", r.numbers, 100 * r.digit_accuracy(), 100 * r.number_accuracy());
    }
    fmt::print("\n");
  }
  for (GapKind gap : hdr::bench::kGapKinds) {
    const ReadingTally& r = t.by_gap.at(gap);
    fmt::print("{:>12}: {:5} numbers, digits {:.2f}%, whole numbers {:.2f}%, miscounted {}, refused {}\n",
               gap_name(gap), r.numbers, 100 * r.digit_accuracy(), 100 * r.number_accuracy(), r.miscounted, r.refused);
  }
  for (const auto& [size, r] : t.by_size)
    fmt::print("{:>9} x{}: {:5} numbers, digits {:.2f}%, whole numbers {:.2f}%\n", "size", size, r.numbers,
               100 * r.digit_accuracy(), 100 * r.number_accuracy());
  fmt::print("{:>12}: {:5} numbers, digits {:.2f}%, whole numbers {:.2f}%\n", "all", t.all.numbers,
             100 * t.all.digit_accuracy(), 100 * t.all.number_accuracy());
}

nlohmann::json tally_json(const ReadingTally& r) {
  return {{"numbers", r.numbers},           {"numbers_right", r.numbers_right}, {"digits", r.digits},
          {"digits_right", r.digits_right}, {"miscounted", r.miscounted},       {"refused", r.refused}};
}

void print_json(const Tallies& t, const Options& o, double seconds) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [key, r] : t.by_length_and_gap) {
    nlohmann::json row = tally_json(r);
    row["length"] = key.first;
    row["gap"] = gap_name(key.second);
    rows.push_back(row);
  }
  fmt::print("{}\n", nlohmann::json{{"model", o.model},
                                    {"count", o.count},
                                    {"seed", o.seed},
                                    {"seconds", seconds},
                                    {"all", tally_json(t.all)},
                                    {"rows", rows}}
                         .dump(2));
}

void run(const Options& o) {
  const hdr::MnistFiles files(o.data);
  const hdr::LabelledImages test_set = hdr::read_idx_pair(files.test_images, files.test_labels, 10);
  const hdr::TrainedModel trained = hdr::read_trained_model(o.model);
  const auto backend = hdr::make_cpu_backend(o.threads);
  hdr::Predictor predictor(trained, *backend);
  const hdr::DigitClassifier classify = [&](std::span<const float> images) { return predictor.predict(images); };
  if (!o.save.empty()) std::filesystem::create_directories(o.save);

  Tallies t;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < o.count; ++i) {
    const hdr::bench::NumberSample s = hdr::bench::make_number(test_set, o.seed, i);
    const std::vector<uint8_t> png = hdr::encode_png(s.image.pixels, s.image.width, s.image.height);
    const std::string name = fmt::format("{:05}_{}_{}_x{}.png", i, s.text, gap_name(s.gap), s.size);
    std::string read;
    bool refused = false;
    try {
      read = hdr::read_number(hdr::decode_image(png, name), name, classify).text;
    } catch (const hdr::InputError& e) {
      refused = true;
      if (!o.json) fmt::print(stderr, "refused: {}\n", e.what());
    }
    if (!o.save.empty() && (refused || read != s.text))
      hdr::write_png(std::filesystem::path(o.save) / name, s.image.pixels, s.image.width, s.image.height);
    for (ReadingTally* r :
         {&t.by_length_and_gap[{int(s.text.size()), s.gap}], &t.by_gap[s.gap], &t.by_size[s.size], &t.all})
      r->add(s.text, read, refused);
    if (!o.json && (i + 1) % 500 == 0) fmt::print(stderr, "{} of {} numbers read\n", i + 1, o.count);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.json) return print_json(t, o, seconds);
  fmt::print("{} numbers from the MNIST test digits (seed {}), read by {} in {:.1f} s ({:.1f} ms each)\n", o.count,
             o.seed, o.model, seconds, 1000 * seconds / o.count);
  print_table(t);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Scores hdr's number reading on numbers composed of MNIST test digits");
  Options o;
  app.add_option("model", o.model, "Trained model (model.hdr)")->required()->check(CLI::ExistingFile);
  app.add_option("--count", o.count, "How many numbers")->check(CLI::Range(1, 1'000'000))->capture_default_str();
  app.add_option("--seed", o.seed, "The set's seed: sample i is a function of (seed, i)")->capture_default_str();
  app.add_option("--data", o.data, "The MNIST folder")->capture_default_str();
  app.add_option("--save", o.save, "Write the numbers read wrong, as PNG, into this folder");
  app.add_option("--threads", o.threads, "Inference threads (0: all cores)")->capture_default_str();
  app.add_flag("--json", o.json, "Print the counts as JSON");
  CLI11_PARSE(app, argc, argv);
  try {
    run(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hdr_number_bench: {}\n", e.what());
    return hdr::exit_status_of(e);
  }
  return 0;
}

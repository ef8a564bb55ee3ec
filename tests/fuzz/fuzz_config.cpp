// Fuzz target: the INI config loader with --set overrides (engine/config.*). The input up to its
// first NUL byte is the INI text; each line after it is one override ("section.key=value").
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hdr;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string text(input.substr(0, nul));
  std::vector<std::string> overrides;
  if (nul != std::string_view::npos) {
    std::string_view rest = input.substr(nul + 1);
    while (!rest.empty()) {
      const size_t end = rest.find('\n');
      overrides.emplace_back(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
  }
  // Messages name the file ("fuzz.ini:3: ...") or the override ("--set x.y=z: ...").
  try {
    const Config config = parse_config(text, "fuzz.ini", overrides);
    if (config.model.layers.empty()) fuzz::finding("parse_config accepted a model without layers");
  } catch (const InputError& e) {
    const std::string_view what = e.what();
    if (what.find("fuzz.ini") == std::string_view::npos && what.find("--set ") == std::string_view::npos)
      fuzz::finding(std::string("an InputError that names neither the file nor the override: ") + e.what());
  }
  return 0;
}

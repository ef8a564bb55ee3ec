// What the fuzz targets share: the oracle and a scratch file.
//
// The oracle: a reader either returns what it promises or throws hdr::InputError whose message
// names the input (the file, the config source, the request field). Any other exception escapes
// the target (libFuzzer reports the abort as a crash), and so does a crash, a leak or undefined
// behaviour (ASan, LSan, UBSan).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "engine/core/errors.h"

namespace hdr::fuzz {

// Stops the run with a message: a broken promise that is not a crash by itself.
[[noreturn]] inline void finding(std::string_view what) {
  std::fprintf(stderr, "fuzz finding: %.*s\n", int(what.size()), what.data());
  std::abort();
}

// Runs read(); an InputError must name `source`.
template <class Read>
void read_or_input_error(std::string_view source, Read read) {
  try {
    read();
  } catch (const InputError& e) {
    if (std::string_view(e.what()).find(source) == std::string_view::npos)
      finding(std::string("an InputError that does not name ") + std::string(source) + ": " + e.what());
  }
}

// One file per fuzzing process for the readers that take a path, rewritten for every input.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& tag)
      : path_(std::filesystem::temp_directory_path() / ("hdr-fuzz-" + tag + "-" + std::to_string(::getpid()))) {}
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  void write(const uint8_t* data, size_t size) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    if (!out.flush()) finding("cannot write the scratch file " + path_.string());
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace hdr::fuzz

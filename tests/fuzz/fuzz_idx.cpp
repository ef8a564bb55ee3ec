// Fuzz target: the IDX reader (engine/idx.*). Each input is written to a scratch file and read
// as an image file and as a label file of 10 classes; what comes back must match its header.
#include <cstdint>

#include "engine/io/idx.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hdr;
  static const fuzz::ScratchFile file("idx");
  file.write(data, size);
  const std::string name = file.path().string();
  fuzz::read_or_input_error(name, [&] {
    const IdxImages images = read_idx_images(file.path());
    if (images.count < 1 || images.rows < 1 || images.cols < 1 ||
        images.pixels.size() != size_t(images.count) * size_t(images.rows) * size_t(images.cols))
      fuzz::finding("read_idx_images returned pixels that do not match count x rows x cols");
  });
  fuzz::read_or_input_error(name, [&] {
    for (uint8_t label : read_idx_labels(file.path(), 10))
      if (label >= 10) fuzz::finding("read_idx_labels returned a label outside 0..9");
  });
  return 0;
}

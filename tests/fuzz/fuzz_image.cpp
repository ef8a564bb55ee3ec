// Fuzz target: the image decoder and the MNIST-style preprocessing (engine/image_io.*,
// engine/preprocess.*): any bytes give a 28x28 image in [0, 1] or an InputError naming the
// source. The limits are serve's and predict's but for the pixel count (tests/fuzz/fuzz_limits.h).
#include <cmath>
#include <cstdint>
#include <span>

#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"
#include "tests/fuzz/fuzz_limits.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hdr;
  fuzz::read_or_input_error("upload.png", [&] {
    const DecodedImage image = decode_image(std::span(data, size), "upload.png", fuzz::kImageLimits);
    if (image.pixels.size() != size_t(image.width) * size_t(image.height) * size_t(image.channels))
      fuzz::finding("decode_image returned pixels that do not match width x height x channels");
    const std::vector<float> digit = mnist_style(image, "upload.png");
    if (digit.size() != 28 * 28) fuzz::finding("mnist_style returned other than 28 x 28 values");
    for (float v : digit)
      if (!(v >= 0.0f && v <= 1.0f)) fuzz::finding("mnist_style returned a value outside [0, 1]");
  });
  return 0;
}

// Fuzz target: the image decoder, the MNIST-style preprocessing and the number segmentation
// (engine/io/image_io.*, preprocess.*, read_number.*): any bytes give a 28x28 image in [0, 1], and
// at most 20 digits with boxes inside the image, or an InputError naming the source. The limits are serve's and
// predict's but for the pixel count (tests/fuzz/fuzz_limits.h).
#include <cmath>
#include <cstdint>
#include <span>

#include "engine/io/image_io.h"
#include "engine/io/preprocess.h"
#include "engine/io/read_number.h"
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
    // A classifier unsure of everything, so that every cut the segmentation may make is tried.
    const auto unsure = [](std::span<const float> images) {
      return std::vector<float>(images.size() / 784 * 10, 0.1f);
    };
    const NumberReading number = read_number(image, "upload.png", unsure);
    if (number.digits.empty() || number.digits.size() > 20 || number.text.size() != number.digits.size())
      fuzz::finding("read_number returned no digits, more than 20, or a text of another length");
    for (const NumberDigit& d : number.digits)
      if (d.x < 0 || d.y < 0 || d.width < 1 || d.height < 1 || d.x + d.width > image.width ||
          d.y + d.height > image.height || d.image.size() != 28 * 28)
        fuzz::finding("read_number returned a box outside the image or an image of other than 28 x 28");
  });
  return 0;
}

// MNIST-style preprocessing of a user's image, the way MNIST itself was made: grayscale, light
// ink on a dark background, cropped to the ink, fitted into a 20x20 box keeping the aspect ratio
// (anti-aliased), placed in 28x28 so that the ink's centre of mass sits at the centre. Drawings,
// scans and photos (dark ink on light paper or light on dark, noisy or unevenly lit) come out
// looking like MNIST digits; an image with no ink is an error, not a guess.
#pragma once

#include <string>
#include <vector>

#include "engine/io/image_io.h"

namespace hdr {

// The MNIST geometry: the digit fits a box x box square inside a side x side image.
struct DigitGeometry {
  int side = 28;
  int box = 20;
};

// A gray image of floats, row-major.
struct Plane {
  int width = 0, height = 0;
  std::vector<float> v;
  float* row(int y) { return v.data() + size_t(y) * size_t(width); }
  const float* row(int y) const { return v.data() + size_t(y) * size_t(width); }
};

// The ink of a user's image, mnist_style's first steps: bright ink on 0, specks dropped, on a
// working canvas that is the image area-averaged down by `factor` per axis (its longer side at
// most 512 pixels). Throws InputError naming `source` when the image holds no ink.
struct InkImage {
  Plane ink;
  int factor = 1;
};
InkImage find_ink(const DecodedImage& image, const std::string& source);

// mnist_style's last steps: all of the plane's ink cropped, fitted into the box keeping its aspect
// ratio, placed by its centre of mass, contrast stretched. The plane must hold some ink.
std::vector<float> digit_from_ink(const Plane& ink, DigitGeometry geometry = {});

// find_ink + digit_from_ink: side x side values in [0, 1] (row-major), ink bright, background 0:
// exactly what the MNIST IDX bytes / 255 look like. Throws InputError naming `source` when the image holds no ink
// (blank, uniform, or only noise).
std::vector<float> mnist_style(const DecodedImage& image, const std::string& source, DigitGeometry geometry = {});

// decode_image + mnist_style.
std::vector<float> preprocess_image(std::span<const uint8_t> bytes, const std::string& source,
                                    DigitGeometry geometry = {}, const ImageLimits& limits = {});

// The [0, 1] image as 8-bit pixels (rounded), for PNG output and display.
std::vector<uint8_t> to_bytes(const std::vector<float>& image);

}  // namespace hdr

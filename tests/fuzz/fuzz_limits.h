// The image limits of the fuzz targets: serve's and predict's (engine/io/image_io.h), but 1
// megapixel instead of 40. A few KiB of JPEG or PNG can declare 40 megapixels, and decoding
// those under ASan takes up to 10 s, which left fuzz_image 5 executions a second; the limit
// checks themselves run the same at any value.
#pragma once

#include "engine/io/image_io.h"

namespace hdr::fuzz {

inline constexpr ImageLimits kImageLimits{.max_pixels = int64_t(1) << 20};

}  // namespace hdr::fuzz

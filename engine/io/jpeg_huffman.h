// A check that a JPEG's Huffman tables (DHT segments) hold at most 256 codes each, run before
// stb_image sees the file. Debian's stb_image (v2.27) trusts the 16 code counts of a table and
// writes their sum, up to 4,080, into 256-entry arrays: a heap overflow that any upload could
// trigger (found by tests/fuzz/fuzz_image; upstream v2.28 checks it). Until Debian ships that,
// image_io.cpp refuses such files here.
#pragma once

#include <cstdint>
#include <span>

namespace hdr {

// False when some DHT segment stb_image could act on declares a table of over 256 codes.
// Segments before the first scan are walked as stb_image walks them (APPn and COM contents
// skipped); from the first scan on, every FF C4 marker is checked, which cannot appear inside
// entropy-coded data.
bool jpeg_huffman_tables_fit(std::span<const uint8_t> jpeg);

}  // namespace hdr

// Fuzz target: the checkpoint loader (engine/checkpoint.*, which reads from a path). Each input is
// loaded twice through a scratch file: as it is, and with its last 4 bytes replaced by the CRC-32
// of the rest, so that mutations get past the checksum to the parser behind it.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/io/checkpoint.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void load(const hdr::fuzz::ScratchFile& file, const uint8_t* data, size_t size) {
  using namespace hdr;
  file.write(data, size);
  fuzz::read_or_input_error(file.path().string(), [&] {
    for (const NamedTensor& t : load_checkpoint(file.path()).tensors) {
      size_t count = 1;
      for (int64_t d : t.shape) count *= size_t(d);
      if (t.name.empty() || count != t.data.size()) fuzz::finding("load_checkpoint returned a malformed tensor");
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const hdr::fuzz::ScratchFile file("checkpoint");
  load(file, data, size);
  if (size >= 4) {
    std::vector<uint8_t> sealed(data, data + size);
    const uint32_t crc = uint32_t(crc32_z(crc32_z(0L, Z_NULL, 0), sealed.data(), size - 4));
    std::memcpy(sealed.data() + size - 4, &crc, 4);  // little-endian, as checkpoint.h lays it out
    load(file, sealed.data(), size);
  }
  return 0;
}

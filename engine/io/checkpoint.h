// Checkpoint file: the run's config text, a JSON metadata blob and named f32 tensors, in a
// versioned little-endian binary format with a trailing CRC-32.
//
//   "HDRCKPT\n"           8-byte magic
//   u32 version           kCheckpointVersion (1)
//   u32 flags             0
//   u32 n, n bytes        config text (the INI as read)
//   u32 n, n bytes        metadata JSON (epoch, optimizer step, history, ...)
//   u32 tensor count
//   per tensor:           u32 n, n bytes name; u32 rank; rank x i64 dims; prod(dims) x f32 data
//   u32 crc               zlib crc32 of every byte before it
//
// Saving goes through write_file_atomically (durable), so a crash or a full disk leaves either the
// old file or the new one, never a torn one. Loading
// trusts nothing in the file: every length is checked against the bytes that remain before
// anything is read or allocated, and each defect is an InputError naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace hdr {

inline constexpr uint32_t kCheckpointVersion = 1;

struct NamedTensor {
  std::string name;            // unique within a checkpoint, non-empty
  std::vector<int64_t> shape;  // each dim >= 0
  std::vector<float> data;     // product(shape) values, row-major
};

struct Checkpoint {
  std::string config_text;
  std::string metadata_json;
  std::vector<NamedTensor> tensors;
};

// Throws std::invalid_argument (before touching the disk) when a tensor's data size differs
// from its shape, a name is empty or repeated, or a field exceeds the format's u32 lengths;
// std::runtime_error when the file cannot be written (the previous file at `path` is kept).
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

// Throws InputError naming the file and the defect.
Checkpoint load_checkpoint(const std::filesystem::path& path);

// The tensor called `name`, or nullptr.
const NamedTensor* find_tensor(const Checkpoint& checkpoint, std::string_view name);

// True when the file starts with the checkpoint magic (a cheap sniff; load_checkpoint validates).
bool looks_like_checkpoint(const std::filesystem::path& path);

}  // namespace hdr

// The one way hdr writes a file a user keeps (checkpoints, history, PNG images): to a temporary
// name in the same folder ("<path>.tmp.<pid>.<serial>"), then renamed over `path`, so a crash, a
// full disk or an unwritable folder leaves either the old file or the new one, never a torn one.
// (A symbolic link at `path` is replaced by the file, not followed.)
// Durable writes also fsync the file before the rename and the folder after it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace hdr {

enum class Durability { kAtomicOnly, kDurable };

// Throws std::runtime_error naming the path and the step that failed (create, write, fsync,
// close, rename); the temporary file is removed and the previous file at `path` kept.
void write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                           Durability durability = Durability::kDurable);

}  // namespace hdr

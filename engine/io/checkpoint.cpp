// Checkpoint writer and reader; the format and the guarantees are in checkpoint.h.
// The whole file is assembled in memory and written with one loop of write(2): a model of
// this project is a few MB, and a single buffer keeps the CRC and the atomic rename simple.
#include "engine/io/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_set>

#include "engine/core/atomic_file.h"
#include "engine/core/errors.h"

namespace hdr {
namespace fs = std::filesystem;

static_assert(std::endian::native == std::endian::little,
              "checkpoints are little-endian and read/written by memcpy: port the byte order first");
static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559, "checkpoints store IEEE-754 binary32");

namespace {

constexpr char kMagic[8] = {'H', 'D', 'R', 'C', 'K', 'P', 'T', '\n'};
constexpr size_t kHeaderBytes = 16;  // magic, version, flags
constexpr size_t kCrcBytes = 4;
constexpr uint64_t kMaxU32 = std::numeric_limits<uint32_t>::max();

uint32_t crc32_of(const unsigned char* data, size_t size) {
  return uint32_t(crc32_z(crc32_z(0L, Z_NULL, 0), data, size));
}

// count = product(shape); false when a dim is negative or the product overflows u64.
bool element_count(const std::vector<int64_t>& shape, uint64_t& count) {
  count = 1;
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / uint64_t(d)) return false;
    count *= uint64_t(d);
  }
  return true;
}

// ---- writing

class ByteWriter {
 public:
  template <typename T>
  void put(T value) {
    append(&value, sizeof value);
  }
  void put_string(const std::string& s) {
    put(uint32_t(s.size()));
    append(s.data(), s.size());
  }
  void append(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    bytes.insert(bytes.end(), b, b + n);
  }
  std::vector<unsigned char> bytes;
};

void check_savable(const fs::path& path, const Checkpoint& ck) {
  auto fail = [&path](const std::string& what) {
    throw std::invalid_argument(fmt::format("{}: cannot save checkpoint: {}", path.string(), what));
  };
  if (ck.config_text.size() > kMaxU32) fail("config text longer than 4 GiB");
  if (ck.metadata_json.size() > kMaxU32) fail("metadata longer than 4 GiB");
  if (ck.tensors.size() > kMaxU32) fail("more than 2^32-1 tensors");
  std::unordered_set<std::string_view> names;
  for (const NamedTensor& t : ck.tensors) {
    if (t.name.empty()) fail("a tensor has an empty name");
    if (t.name.size() > kMaxU32 || t.shape.size() > kMaxU32) fail(fmt::format("tensor '{}' is malformed", t.name));
    if (!names.insert(t.name).second) fail(fmt::format("tensor name '{}' appears twice", t.name));
    uint64_t count = 0;
    if (!element_count(t.shape, count) || count != t.data.size())
      fail(fmt::format("tensor '{}' has shape [{}] but {} values", t.name, fmt::join(t.shape, ", "), t.data.size()));
  }
}

std::vector<unsigned char> encode(const Checkpoint& ck) {
  ByteWriter w;
  w.append(kMagic, sizeof kMagic);
  w.put(kCheckpointVersion);
  w.put(uint32_t{0});  // flags
  w.put_string(ck.config_text);
  w.put_string(ck.metadata_json);
  w.put(uint32_t(ck.tensors.size()));
  for (const NamedTensor& t : ck.tensors) {
    w.put_string(t.name);
    w.put(uint32_t(t.shape.size()));
    w.append(t.shape.data(), t.shape.size() * sizeof(int64_t));
    w.append(t.data.data(), t.data.size() * sizeof(float));
  }
  w.put(crc32_of(w.bytes.data(), w.bytes.size()));
  return std::move(w.bytes);
}

// ---- reading

// A cursor over the file's bytes before the CRC; every read is checked against what remains.
class ByteReader {
 public:
  ByteReader(const std::vector<unsigned char>& bytes, size_t begin, size_t end, const std::string& file)
      : bytes_(bytes), pos_(begin), end_(end), file_(file) {}

  size_t remaining() const { return end_ - pos_; }
  size_t position() const { return pos_; }

  void need(uint64_t n, const std::string& what) const {
    if (n > remaining())
      throw InputError(fmt::format("{}: corrupt checkpoint: {} needs {} bytes at offset {} but only {} remain", file_,
                                   what, n, pos_, remaining()));
  }
  template <typename T>
  T get(const std::string& what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof value);
    pos_ += sizeof value;
    return value;
  }
  std::string get_string(const std::string& what) {
    const uint32_t n = get<uint32_t>(what + " length");
    need(n, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void get_into(void* out, uint64_t n, const std::string& what) {
    need(n, what);
    if (n != 0) std::memcpy(out, bytes_.data() + pos_, n);  // out may be null for an empty tensor
    pos_ += n;
  }

 private:
  const std::vector<unsigned char>& bytes_;
  size_t pos_, end_;
  const std::string& file_;
};

std::vector<unsigned char> read_file(const fs::path& path, const std::string& name) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw InputError(fmt::format("{}: no such file", name));
  if (fs::is_directory(status)) throw InputError(fmt::format("{}: is a directory, not an hdr checkpoint", name));
  if (!fs::is_regular_file(status)) throw InputError(fmt::format("{}: not a regular file", name));
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot read its size: {}", name, ec.message()));
  if (size == 0) throw InputError(fmt::format("{}: empty file, not an hdr checkpoint", name));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open for reading", name));
  std::vector<unsigned char> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size));
  if (uint64_t(in.gcount()) != size) throw InputError(fmt::format("{}: read error", name));
  return bytes;
}

NamedTensor read_tensor(ByteReader& in, size_t index, const std::string& file) {
  NamedTensor t;
  t.name = in.get_string(fmt::format("tensor {} name", index));
  if (t.name.empty()) throw InputError(fmt::format("{}: corrupt checkpoint: tensor {} has an empty name", file, index));
  const std::string label = fmt::format("tensor '{}'", t.name);
  const uint32_t rank = in.get<uint32_t>(label + " rank");
  in.need(uint64_t(rank) * sizeof(int64_t), label + " shape");
  t.shape.resize(rank);
  in.get_into(t.shape.data(), uint64_t(rank) * sizeof(int64_t), label + " shape");
  uint64_t count = 0;
  if (!element_count(t.shape, count) || count > in.remaining() / sizeof(float))
    throw InputError(fmt::format("{}: corrupt checkpoint: {} has shape [{}], more values than the {} bytes left", file,
                                 label, fmt::join(t.shape, ", "), in.remaining()));
  t.data.resize(count);
  in.get_into(t.data.data(), count * sizeof(float), label + " data");
  return t;
}

}  // namespace

void save_checkpoint(const fs::path& path, const Checkpoint& checkpoint) {
  check_savable(path, checkpoint);
  const std::vector<unsigned char> bytes = encode(checkpoint);

  try {
    write_file_atomically(path, bytes);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("cannot save checkpoint: {}", e.what()));
  }
}

Checkpoint load_checkpoint(const fs::path& path) {
  const std::string name = path.string();
  const std::vector<unsigned char> bytes = read_file(path, name);

  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw InputError(fmt::format("{}: not an hdr checkpoint (wrong magic bytes)", name));
  if (bytes.size() < kHeaderBytes + kCrcBytes)
    throw InputError(fmt::format("{}: truncated checkpoint ({} bytes, the header alone takes {})", name, bytes.size(),
                                 kHeaderBytes + kCrcBytes));
  // The version comes before the checksum: a newer format may place or compute it differently.
  ByteReader header(bytes, sizeof kMagic, kHeaderBytes, name);
  const auto version = header.get<uint32_t>("version");
  const auto flags = header.get<uint32_t>("flags");
  if (version > kCheckpointVersion)
    throw InputError(fmt::format("{}: checkpoint format version {} is newer than this hdr supports ({})", name, version,
                                 kCheckpointVersion));
  if (version == 0) throw InputError(fmt::format("{}: checkpoint format version 0 is not valid", name));

  const size_t body_end = bytes.size() - kCrcBytes;
  uint32_t stored_crc = 0;
  std::memcpy(&stored_crc, bytes.data() + body_end, kCrcBytes);
  const uint32_t actual_crc = crc32_of(bytes.data(), body_end);
  if (stored_crc != actual_crc)
    throw InputError(fmt::format("{}: checksum mismatch: file corrupted or truncated (stored {:08x}, computed {:08x})",
                                 name, stored_crc, actual_crc));
  if (flags != 0) throw InputError(fmt::format("{}: unsupported checkpoint flags 0x{:x}", name, flags));

  ByteReader in(bytes, kHeaderBytes, body_end, name);
  Checkpoint ck;
  ck.config_text = in.get_string("config text");
  ck.metadata_json = in.get_string("metadata");
  if (!ck.metadata_json.empty() && !nlohmann::json::accept(ck.metadata_json))
    throw InputError(fmt::format("{}: corrupt checkpoint: metadata is not valid JSON", name));
  const auto count = in.get<uint32_t>("tensor count");
  std::unordered_set<std::string> names;
  for (uint32_t i = 0; i < count; ++i) {
    NamedTensor t = read_tensor(in, i, name);
    if (!names.insert(t.name).second)
      throw InputError(fmt::format("{}: corrupt checkpoint: tensor name '{}' appears twice", name, t.name));
    ck.tensors.push_back(std::move(t));
  }
  if (in.remaining() != 0)
    throw InputError(fmt::format("{}: corrupt checkpoint: {} unexpected bytes after the last tensor (offset {})", name,
                                 in.remaining(), in.position()));
  return ck;
}

bool looks_like_checkpoint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[sizeof kMagic] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == sizeof magic && std::memcmp(magic, kMagic, sizeof magic) == 0;
}

const NamedTensor* find_tensor(const Checkpoint& checkpoint, std::string_view name) {
  for (const NamedTensor& t : checkpoint.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace hdr

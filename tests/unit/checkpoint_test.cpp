// Checkpoint files: the documented byte layout, bit-exact round trips, atomic replacement, and
// one crafted bad file per defect (each must be a clear InputError, never a crash). Bad files
// are built here byte by byte from the layout in checkpoint.h, independently of the writer.
#include <gtest/gtest.h>
#include <zlib.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/core/errors.h"
#include "engine/io/checkpoint.h"
#include "tests/file_size_limit.h"
#include "tests/temp_dir.h"

namespace hdr {
namespace {

namespace fs = std::filesystem;
using test::read_bytes;
using test::TempDir;
using test::write_bytes;
using Bytes = std::vector<unsigned char>;

// A file image in checkpoint.h's layout, little-endian, assembled field by field.
struct FileBuilder {
  Bytes bytes;
  FileBuilder& raw(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    bytes.insert(bytes.end(), b, b + n);
    return *this;
  }
  FileBuilder& u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<unsigned char>(v >> (8 * i)));
    return *this;
  }
  FileBuilder& i64(int64_t v) {
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<unsigned char>(uint64_t(v) >> (8 * i)));
    return *this;
  }
  FileBuilder& f32(float v) { return u32(std::bit_cast<uint32_t>(v)); }
  FileBuilder& str(const std::string& s) { return u32(uint32_t(s.size())).raw(s.data(), s.size()); }
  FileBuilder& header(uint32_t version = 1, uint32_t flags = 0) { return raw("HDRCKPT\n", 8).u32(version).u32(flags); }
  // Appends the CRC-32 of everything so far, as a valid writer would.
  Bytes sealed() const {
    FileBuilder done = *this;
    return done.u32(uint32_t(crc32(0L, bytes.data(), uInt(bytes.size())))).bytes;
  }
};

// Header, config "c", metadata "{}", then the caller's tensor count and tensors.
FileBuilder minimal_prefix(uint32_t tensor_count) {
  FileBuilder b;
  b.header().str("c").str("{}").u32(tensor_count);
  return b;
}

// Writes a fresh file: rewriting one in place (O_TRUNC) makes ext4 flush it each time, which
// turns the byte-by-byte loops below from milliseconds into seconds.
void write_fresh(const fs::path& p, const Bytes& bytes) {
  fs::remove(p);
  write_bytes(p, bytes);
}

// Runs `fn`; it must throw InputError whose message names `file` and holds `needle`.
void expect_input_error(const std::function<void()>& fn, const fs::path& file, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << "expected '" << needle << "' in: " << message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

void expect_load_error(const fs::path& file, const std::string& needle) {
  expect_input_error([&file] { load_checkpoint(file); }, file, needle);
}

Checkpoint sample_checkpoint() {
  Checkpoint ck;
  ck.config_text = std::string("[model]\nname = cnn_bn\n# \xc3\xa9 and a NUL: ") + '\0' + "!\n";
  ck.metadata_json = R"({"epoch": 3, "step": 2250, "history": [0.5, 0.25]})";
  ck.tensors.push_back({"conv1.kernel",
                        {2, 3},
                        {-0.0f, std::numeric_limits<float>::denorm_min(), 1e-38f, FLT_MAX, -INFINITY, 1.0f / 3.0f}});
  ck.tensors.push_back({"bn1.moving_mean", {}, {FLT_MIN}});  // rank 0: one value
  ck.tensors.push_back({"empty", {0, 5}, {}});
  ck.tensors.push_back({"dense.bias", {3}, {INFINITY, NAN, -1.5e-45f}});
  return ck;
}

std::vector<uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<uint32_t> bits;
  for (float v : values) bits.push_back(std::bit_cast<uint32_t>(v));
  return bits;
}

// Entries in `dir` other than `keep`: temporary files left behind show up here.
std::vector<std::string> other_entries(const fs::path& dir, const std::string& keep) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename() != keep) names.push_back(e.path().filename().string());
  return names;
}

TEST(CheckpointFormat, MatchesTheDocumentedLayoutByteForByte) {
  TempDir dir;
  Checkpoint ck;
  ck.config_text = "[train]\nepochs = 2\n";
  ck.metadata_json = R"({"epoch":1})";
  ck.tensors.push_back({"w", {2, 1}, {1.0f, -2.5f}});
  ck.tensors.push_back({"b", {1}, {0.125f}});
  save_checkpoint(dir / "model.ckpt", ck);

  FileBuilder expected;
  expected.header().str(ck.config_text).str(ck.metadata_json).u32(2);
  expected.str("w").u32(2).i64(2).i64(1).f32(1.0f).f32(-2.5f);
  expected.str("b").u32(1).i64(1).f32(0.125f);
  EXPECT_EQ(read_bytes(dir / "model.ckpt"), expected.sealed());
}

TEST(CheckpointRoundTrip, RestoresEveryFieldBitForBit) {
  TempDir dir;
  const Checkpoint saved = sample_checkpoint();
  save_checkpoint(dir / "a.ckpt", saved);
  const Checkpoint loaded = load_checkpoint(dir / "a.ckpt");

  EXPECT_EQ(loaded.config_text, saved.config_text);
  EXPECT_EQ(loaded.metadata_json, saved.metadata_json);
  ASSERT_EQ(loaded.tensors.size(), saved.tensors.size());
  for (size_t i = 0; i < saved.tensors.size(); ++i) {
    EXPECT_EQ(loaded.tensors[i].name, saved.tensors[i].name);
    EXPECT_EQ(loaded.tensors[i].shape, saved.tensors[i].shape);
    EXPECT_EQ(bits_of(loaded.tensors[i].data), bits_of(saved.tensors[i].data)) << saved.tensors[i].name;
  }
  EXPECT_EQ(std::bit_cast<uint32_t>(loaded.tensors[0].data[0]), 0x80000000u);  // -0.0 kept its sign
  EXPECT_EQ(std::bit_cast<uint32_t>(loaded.tensors[0].data[1]), 0x00000001u);  // smallest denormal
  EXPECT_EQ(loaded.tensors[0].data[2], 1e-38f);
}

TEST(CheckpointRoundTrip, FindTensorByName) {
  const Checkpoint ck = sample_checkpoint();
  const NamedTensor* bias = find_tensor(ck, "dense.bias");
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(bias->shape, std::vector<int64_t>{3});
  EXPECT_EQ(find_tensor(ck, "dense"), nullptr);
  EXPECT_EQ(find_tensor(Checkpoint{}, "w"), nullptr);
}

TEST(CheckpointRoundTrip, EmptyCheckpoint) {
  TempDir dir;
  save_checkpoint(dir / "e.ckpt", Checkpoint{});
  const Checkpoint loaded = load_checkpoint(dir / "e.ckpt");
  EXPECT_TRUE(loaded.config_text.empty());
  EXPECT_TRUE(loaded.metadata_json.empty());
  EXPECT_TRUE(loaded.tensors.empty());
}

TEST(CheckpointAtomicWrite, ReplacesTheTargetAndLeavesNoTempFile) {
  TempDir dir;
  Checkpoint first;
  first.tensors.push_back({"w", {1}, {1.0f}});
  Checkpoint second;
  second.tensors.push_back({"w", {2}, {2.0f, 3.0f}});
  save_checkpoint(dir / "m.ckpt", first);
  save_checkpoint(dir / "m.ckpt", second);
  EXPECT_EQ(load_checkpoint(dir / "m.ckpt").tensors[0].data, (std::vector<float>{2.0f, 3.0f}));
  EXPECT_TRUE(other_entries(dir.path(), "m.ckpt").empty());
}

TEST(CheckpointAtomicWrite, MissingDirectoryFailsAndCreatesNothing) {
  TempDir dir;
  EXPECT_THROW(save_checkpoint(dir / "no-such-dir" / "m.ckpt", sample_checkpoint()), std::runtime_error);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// A write that fails half way (file size limit, as a full disk would) keeps the old checkpoint.
TEST(CheckpointAtomicWrite, FailedWriteKeepsThePreviousFile) {
  TempDir dir;
  Checkpoint old_ck;
  old_ck.tensors.push_back({"w", {2}, {4.0f, 5.0f}});
  save_checkpoint(dir / "m.ckpt", old_ck);
  const Bytes old_bytes = read_bytes(dir / "m.ckpt");

  Checkpoint big;
  big.tensors.push_back({"w", {100000}, std::vector<float>(100000, 1.0f)});
  {
    test::FileSizeLimit limit(64 * 1024);
    EXPECT_THROW(save_checkpoint(dir / "m.ckpt", big), std::runtime_error);
  }
  EXPECT_EQ(read_bytes(dir / "m.ckpt"), old_bytes);
  EXPECT_TRUE(other_entries(dir.path(), "m.ckpt").empty());
}

TEST(CheckpointAtomicWrite, FailedRenameRemovesTheTempFile) {
  TempDir dir;
  fs::create_directories(dir / "m.ckpt" / "inside");  // a non-empty directory cannot be renamed over
  EXPECT_THROW(save_checkpoint(dir / "m.ckpt", sample_checkpoint()), std::runtime_error);
  EXPECT_TRUE(fs::is_directory(dir / "m.ckpt" / "inside"));
  EXPECT_TRUE(other_entries(dir.path(), "m.ckpt").empty());
}

TEST(CheckpointAtomicWrite, MalformedTensorsAreRejectedBeforeWriting) {
  TempDir dir;
  Checkpoint wrong_size;
  wrong_size.tensors.push_back({"w", {2, 2}, {1.0f, 2.0f, 3.0f}});
  EXPECT_THROW(save_checkpoint(dir / "m.ckpt", wrong_size), std::invalid_argument);
  Checkpoint duplicate;
  duplicate.tensors.push_back({"w", {1}, {1.0f}});
  duplicate.tensors.push_back({"w", {1}, {2.0f}});
  EXPECT_THROW(save_checkpoint(dir / "m.ckpt", duplicate), std::invalid_argument);
  Checkpoint negative;
  negative.tensors.push_back({"w", {-1}, {}});
  EXPECT_THROW(save_checkpoint(dir / "m.ckpt", negative), std::invalid_argument);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(CheckpointCorrupt, EveryFlippedByteIsDetected) {
  TempDir dir;
  save_checkpoint(dir / "good.ckpt", sample_checkpoint());
  const Bytes good = read_bytes(dir / "good.ckpt");
  const fs::path bad = dir / "bad.ckpt";
  for (size_t i = 0; i < good.size(); ++i) {
    SCOPED_TRACE(i);
    Bytes b = good;
    b[i] ^= 0x5A;
    write_fresh(bad, b);
    // magic, then version (0x5A in any byte makes it newer than 1), then the checksum
    expect_load_error(bad, i < 8    ? "not an hdr checkpoint"
                           : i < 12 ? "is newer than"
                                    : "checksum mismatch: file corrupted");
  }
}

TEST(CheckpointCorrupt, EveryTruncationIsAClearError) {
  TempDir dir;
  save_checkpoint(dir / "good.ckpt", sample_checkpoint());
  const Bytes good = read_bytes(dir / "good.ckpt");
  const fs::path cut = dir / "cut.ckpt";
  for (size_t n = 0; n < good.size(); ++n) {
    SCOPED_TRACE(n);
    write_fresh(cut, Bytes(good.begin(), good.begin() + std::ptrdiff_t(n)));
    expect_load_error(cut, n == 0 ? "empty file" : n < 8 ? "not an hdr checkpoint" : n < 20 ? "truncated" : "checksum");
  }
}

TEST(CheckpointCorrupt, WrongMagicEmptyFileDirectoryMissingFile) {
  TempDir dir;
  write_bytes(dir / "zip.ckpt", {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  expect_load_error(dir / "zip.ckpt", "not an hdr checkpoint");
  write_bytes(dir / "empty.ckpt", {});
  expect_load_error(dir / "empty.ckpt", "empty file");
  fs::create_directories(dir / "folder.ckpt");
  expect_load_error(dir / "folder.ckpt", "is a directory");
  expect_load_error(dir / "missing.ckpt", "no such file");
}

TEST(CheckpointCorrupt, NewerVersionIsNamed) {
  TempDir dir;
  FileBuilder v2;
  v2.header(2).str("c").str("{}").u32(0);
  write_bytes(dir / "v2.ckpt", v2.sealed());
  expect_load_error(dir / "v2.ckpt", "version 2 is newer than this hdr supports (1)");
  FileBuilder v0;
  v0.header(0).str("c").str("{}").u32(0);
  write_bytes(dir / "v0.ckpt", v0.sealed());
  expect_load_error(dir / "v0.ckpt", "version 0");
}

// Files with a valid checksum whose fields lie: each length is checked before it is used.
TEST(CheckpointCorrupt, LyingFieldsBehindAValidChecksum) {
  TempDir dir;
  const fs::path f = dir / "lie.ckpt";
  auto check = [&f](const Bytes& bytes, const std::string& needle) {
    write_fresh(f, bytes);
    expect_load_error(f, needle);
  };
  {
    SCOPED_TRACE("the baseline file loads");
    write_bytes(f, minimal_prefix(1).str("w").u32(1).i64(1).f32(1.0f).sealed());
    EXPECT_EQ(load_checkpoint(f).tensors.at(0).data, std::vector<float>{1.0f});
  }
  FileBuilder huge_config;
  huge_config.header().u32(0xFFFFFFFFu).raw("abc", 3);
  check(huge_config.sealed(), "config text");
  check(minimal_prefix(2).str("w").u32(1).i64(1).f32(1.0f).sealed(), "tensor 1 name");  // count says 2, has 1
  check(minimal_prefix(1).str("w").u32(0xFFFFFFFFu).sealed(), "shape");                 // rank 2^32-1
  check(minimal_prefix(1).str("w").u32(3).i64(int64_t(1) << 62).i64(int64_t(1) << 62).i64(4).sealed(),
        "more values than");                                                      // product overflows
  check(minimal_prefix(1).str("w").u32(1).i64(-1).sealed(), "more values than");  // negative dim
  check(minimal_prefix(1).str("w").u32(1).i64(3).f32(1.0f).f32(2.0f).sealed(), "more values than");
  check(minimal_prefix(2).str("w").u32(0).f32(1.0f).str("w").u32(0).f32(2.0f).sealed(), "'w' appears twice");
  check(minimal_prefix(1).str("").u32(0).f32(1.0f).sealed(), "empty name");
  check(minimal_prefix(1).str("w").u32(1).i64(1).f32(1.0f).f32(9.0f).sealed(), "unexpected bytes");
  FileBuilder flags;
  flags.header(1, 4).str("c").str("{}").u32(0);
  check(flags.sealed(), "flags");
  FileBuilder bad_json;
  bad_json.header().str("c").str("{\"epoch\": ").u32(0);
  check(bad_json.sealed(), "not valid JSON");
}

}  // namespace
}  // namespace hdr

// Little-endian byte writer and bounds-checked reader: the building blocks of
// the image and wire encodings. The reader never reads past its input; a
// short or malformed input turns into a failed() reader, never a crash.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace lmig {

class ByteWriter {
public:
  void u8(uint8_t v) { buf_.push_back(v); }
  void u16(uint16_t v) { put(&v, sizeof v); }
  void u32(uint32_t v) { put(&v, sizeof v); }
  void u64(uint64_t v) { put(&v, sizeof v); }
  void i32(int32_t v) { put(&v, sizeof v); }
  void i64(int64_t v) { put(&v, sizeof v); }
  void bytes(const void *p, size_t n) {
    u32(static_cast<uint32_t>(n));
    put(p, n);
  }
  void str(const std::string &s) { bytes(s.data(), s.size()); }
  void raw(const void *p, size_t n) { put(p, n); }
  // Reserves a u32 to be patched later with patch_u32 (section lengths).
  size_t reserve_u32() {
    size_t at = buf_.size();
    u32(0);
    return at;
  }
  void patch_u32(size_t at, uint32_t v) { std::memcpy(buf_.data() + at, &v, sizeof v); }
  size_t size() const { return buf_.size(); }
  std::vector<uint8_t> &data() { return buf_; }
  std::vector<uint8_t> take() { return std::move(buf_); }

private:
  void put(const void *p, size_t n) {
    auto *b = static_cast<const uint8_t *>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  std::vector<uint8_t> buf_;
};

class ByteReader {
public:
  explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}

  uint8_t u8() { return get<uint8_t>(); }
  uint16_t u16() { return get<uint16_t>(); }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  int32_t i32() { return get<int32_t>(); }
  int64_t i64() { return get<int64_t>(); }
  bool boolean() {
    uint8_t v = u8();
    if (v > 1)
      fail("boolean out of range");
    return v == 1;
  }
  // A length-prefixed byte string of at most max bytes.
  std::span<const uint8_t> bytes(size_t max) {
    uint32_t n = u32();
    if (failed_)
      return {};
    if (n > max) {
      fail("length " + std::to_string(n) + " exceeds limit " + std::to_string(max));
      return {};
    }
    return take(n);
  }
  std::string str(size_t max) {
    auto b = bytes(max);
    return std::string(reinterpret_cast<const char *>(b.data()), b.size());
  }
  std::span<const uint8_t> take(size_t n) {
    if (failed_)
      return {};
    if (n > remaining()) {
      fail("truncated: wanted " + std::to_string(n) + " bytes, " + std::to_string(remaining()) +
           " left");
      return {};
    }
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  // A count of elements each at least min_size bytes: rejects counts the
  // remaining input cannot hold (no huge allocations from hostile input).
  uint32_t count(size_t min_size, size_t max) {
    uint32_t n = u32();
    if (failed_)
      return 0;
    if (n > max || (min_size && n > remaining() / min_size)) {
      fail("element count " + std::to_string(n) + " is implausible");
      return 0;
    }
    return n;
  }

  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }
  bool failed() const { return failed_; }
  const std::string &why() const { return why_; }
  void fail(const std::string &why) {
    if (!failed_) {
      failed_ = true;
      why_ = why + " at offset " + std::to_string(pos_);
    }
  }

private:
  template <typename T> T get() {
    T v{};
    auto s = take(sizeof v);
    if (!s.empty())
      std::memcpy(&v, s.data(), sizeof v);
    return v;
  }
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool failed_ = false;
  std::string why_;
};

} // namespace lmig

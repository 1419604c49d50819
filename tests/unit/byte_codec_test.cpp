// ByteWriter / ByteReader: the little-endian building blocks of the image and
// wire encodings. The reader must never read past its input: a short or
// malformed input turns it into a failed() reader that returns zeros.
#include "engine/image/byte_codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace lmig {
namespace {

std::vector<uint8_t> bytes_of(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v)
    out.push_back(static_cast<uint8_t>(b));
  return out;
}

TEST(ByteWriter, WritesLittleEndian) {
  ByteWriter w;
  w.u8(0xab);
  w.u16(0x0102);
  w.u32(0x01020304);
  w.u64(0x0102030405060708ull);
  w.i32(-2);
  EXPECT_EQ(w.size(), 1u + 2 + 4 + 8 + 4);
  EXPECT_EQ(w.data(), bytes_of({0xab, 0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x08, 0x07, 0x06, 0x05,
                                0x04, 0x03, 0x02, 0x01, 0xfe, 0xff, 0xff, 0xff}));
}

TEST(ByteWriter, LengthPrefixedBytesAndStrings) {
  ByteWriter w;
  w.str("hi");
  const uint8_t raw[3] = {1, 2, 3};
  w.bytes(raw, sizeof raw);
  w.str("");
  EXPECT_EQ(w.data(), bytes_of({2, 0, 0, 0, 'h', 'i', 3, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0}));
}

TEST(ByteWriter, ReserveAndPatch) {
  ByteWriter w;
  w.u8(9);
  size_t at = w.reserve_u32();
  EXPECT_EQ(at, 1u);
  w.u8(7);
  w.patch_u32(at, 0xdeadbeef);
  EXPECT_EQ(w.data(), bytes_of({9, 0xef, 0xbe, 0xad, 0xde, 7}));
  auto taken = w.take();
  EXPECT_EQ(taken.size(), 6u);
}

TEST(ByteReader, RoundTripsEveryType) {
  ByteWriter w;
  w.u8(200);
  w.u16(65000);
  w.u32(4000000000u);
  w.u64(std::numeric_limits<uint64_t>::max() - 5);
  w.i32(std::numeric_limits<int32_t>::min());
  w.u8(0);
  w.u8(1);
  w.str("hello, world");
  w.bytes("\0\1\2", 3);
  auto buf = w.take();

  ByteReader r(buf);
  EXPECT_EQ(r.u8(), 200);
  EXPECT_EQ(r.u16(), 65000);
  EXPECT_EQ(r.u32(), 4000000000u);
  EXPECT_EQ(r.u64(), std::numeric_limits<uint64_t>::max() - 5);
  EXPECT_EQ(r.i32(), std::numeric_limits<int32_t>::min());
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.boolean());
  EXPECT_EQ(r.str(100), "hello, world");
  auto b = r.bytes(3);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[1], 1);
  EXPECT_EQ(b[2], 2);
  EXPECT_FALSE(r.failed()) << r.why();
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.position(), buf.size());
}

TEST(ByteReader, EmptyInputFailsAndReturnsZero) {
  ByteReader r(std::span<const uint8_t>{});
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.u8(), 0);
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.why().find("truncated"), std::string::npos) << r.why();
}

TEST(ByteReader, ShortReadOfEachWidthFails) {
  const std::vector<uint8_t> buf(7, 0xff);
  {
    ByteReader r{std::span<const uint8_t>(buf).first(1)};
    EXPECT_EQ(r.u16(), 0);
    EXPECT_TRUE(r.failed());
  }
  {
    ByteReader r{std::span<const uint8_t>(buf).first(3)};
    EXPECT_EQ(r.u32(), 0u);
    EXPECT_TRUE(r.failed());
  }
  {
    ByteReader r{std::span<const uint8_t>(buf).first(3)};
    EXPECT_EQ(r.i32(), 0);
    EXPECT_TRUE(r.failed());
  }
  {
    ByteReader r(buf);
    EXPECT_EQ(r.u64(), 0u);
    EXPECT_TRUE(r.failed());
    EXPECT_NE(r.why().find("wanted 8 bytes, 7 left"), std::string::npos) << r.why();
  }
}

TEST(ByteReader, StaysFailedAndReadsZerosAfterwards) {
  const auto buf = bytes_of({1, 2, 3, 4, 5, 6});
  ByteReader r(buf);
  EXPECT_EQ(r.u8(), 1);
  EXPECT_EQ(r.u64(), 0u); // 5 bytes left: fails, consumes nothing
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(r.position(), 1u);
  // Enough input remains for these, but a failed reader reads nothing more.
  EXPECT_EQ(r.u8(), 0);
  EXPECT_EQ(r.u16(), 0);
  EXPECT_EQ(r.u32(), 0u);
  EXPECT_TRUE(r.take(1).empty());
  EXPECT_TRUE(r.bytes(100).empty());
  EXPECT_EQ(r.str(100), "");
  EXPECT_EQ(r.count(1, 100), 0u);
  EXPECT_EQ(r.position(), 1u);
}

TEST(ByteReader, FirstReasonIsKept) {
  const auto buf = bytes_of({7});
  ByteReader r(buf);
  r.fail("first problem");
  r.fail("second problem");
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(r.why(), "first problem at offset 0");
  (void)r.u32();
  EXPECT_EQ(r.why(), "first problem at offset 0");
}

TEST(ByteReader, WhyNamesTheOffset) {
  const auto buf = bytes_of({1, 2, 3});
  ByteReader r(buf);
  (void)r.u16();
  (void)r.u16();
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.why().find("at offset 2"), std::string::npos) << r.why();
}

TEST(ByteReader, BooleanOutOfRangeFails) {
  const auto buf = bytes_of({0, 1, 2});
  ByteReader r(buf);
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.boolean());
  EXPECT_FALSE(r.failed());
  EXPECT_FALSE(r.boolean());
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.why().find("boolean out of range"), std::string::npos) << r.why();
}

TEST(ByteReader, TakeZeroAndExactlyAll) {
  const auto buf = bytes_of({1, 2, 3});
  ByteReader r(buf);
  EXPECT_TRUE(r.take(0).empty());
  EXPECT_FALSE(r.failed());
  auto all = r.take(3);
  EXPECT_EQ(all.size(), 3u);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.take(0).empty());
  EXPECT_FALSE(r.failed());
  EXPECT_TRUE(r.take(1).empty());
  EXPECT_TRUE(r.failed());
}

TEST(ByteReader, TakeOfHugeLengthFailsWithoutOverflow) {
  const auto buf = bytes_of({1, 2, 3});
  ByteReader r(buf);
  (void)r.u8();
  EXPECT_TRUE(r.take(std::numeric_limits<size_t>::max()).empty());
  EXPECT_TRUE(r.failed());
}

TEST(ByteReader, BytesLengthLimit) {
  ByteWriter w;
  w.bytes("abcdef", 6);
  auto buf = w.take();
  {
    ByteReader r(buf);
    EXPECT_EQ(r.bytes(6).size(), 6u); // exactly at the limit
    EXPECT_FALSE(r.failed());
  }
  {
    ByteReader r(buf);
    EXPECT_TRUE(r.bytes(5).empty());
    EXPECT_TRUE(r.failed());
    EXPECT_NE(r.why().find("length 6 exceeds limit 5"), std::string::npos) << r.why();
  }
  {
    ByteReader r(buf);
    EXPECT_TRUE(r.bytes(0).empty());
    EXPECT_TRUE(r.failed());
  }
}

TEST(ByteReader, BytesLongerThanInputFails) {
  // Claims 1000 bytes, holds 3.
  auto buf = bytes_of({0xe8, 0x03, 0, 0, 'a', 'b', 'c'});
  ByteReader r(buf);
  EXPECT_TRUE(r.bytes(1u << 20).empty());
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.why().find("truncated"), std::string::npos) << r.why();
}

TEST(ByteReader, HugeLengthPrefixFailsOnLimitNotAllocation) {
  auto buf = bytes_of({0xff, 0xff, 0xff, 0xff});
  ByteReader r(buf);
  EXPECT_EQ(r.str(4096), "");
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.why().find("exceeds limit 4096"), std::string::npos) << r.why();
}

TEST(ByteReader, StrLengthLimit) {
  ByteWriter w;
  w.str(std::string(64, 'x'));
  w.str(std::string(65, 'y'));
  auto buf = w.take();
  ByteReader r(buf);
  EXPECT_EQ(r.str(64), std::string(64, 'x'));
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.str(64), "");
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.why().find("length 65 exceeds limit 64"), std::string::npos) << r.why();
}

TEST(ByteReader, StrKeepsEmbeddedNul) {
  ByteWriter w;
  w.str(std::string("a\0b", 3));
  auto buf = w.take();
  ByteReader r(buf);
  EXPECT_EQ(r.str(10), std::string("a\0b", 3));
}

TEST(ByteReader, StrOfEmptyString) {
  ByteWriter w;
  w.str("");
  auto buf = w.take();
  ByteReader r(buf);
  EXPECT_EQ(r.str(0), "");
  EXPECT_FALSE(r.failed());
}

TEST(ByteReader, CountWithinBoundsIsAccepted) {
  ByteWriter w;
  w.u32(3);
  for (int i = 0; i < 3; i++)
    w.u64(static_cast<uint64_t>(i));
  auto buf = w.take();
  ByteReader r(buf);
  EXPECT_EQ(r.count(8, 3), 3u); // exactly what the input holds, exactly the max
  EXPECT_FALSE(r.failed());
}

TEST(ByteReader, CountAboveMaxIsRejected) {
  ByteWriter w;
  w.u32(4);
  w.raw(std::vector<uint8_t>(64).data(), 64);
  auto buf = w.take();
  ByteReader r(buf);
  EXPECT_EQ(r.count(1, 3), 0u);
  EXPECT_TRUE(r.failed());
  EXPECT_NE(r.why().find("element count 4 is implausible"), std::string::npos) << r.why();
}

TEST(ByteReader, CountTheInputCannotHoldIsRejected) {
  ByteWriter w;
  w.u32(4); // four 8-byte elements claimed, 31 bytes present
  w.raw(std::vector<uint8_t>(31).data(), 31);
  auto buf = w.take();
  ByteReader r(buf);
  EXPECT_EQ(r.count(8, 1000), 0u);
  EXPECT_TRUE(r.failed());
}

TEST(ByteReader, HugeCountIsRejected) {
  ByteWriter w;
  w.u32(0xffffffffu);
  w.raw(std::vector<uint8_t>(100).data(), 100);
  auto buf = w.take();
  {
    ByteReader r(buf);
    EXPECT_EQ(r.count(1, std::numeric_limits<uint32_t>::max()), 0u);
    EXPECT_TRUE(r.failed());
    EXPECT_NE(r.why().find("4294967295"), std::string::npos) << r.why();
  }
  {
    ByteReader r(buf);
    EXPECT_EQ(r.count(41, 1u << 20), 0u);
    EXPECT_TRUE(r.failed());
  }
}

TEST(ByteReader, CountWithZeroMinSizeOnlyChecksMax) {
  ByteWriter w;
  w.u32(1000); // nothing follows, but elements of size 0 need no input
  auto buf = w.take();
  {
    ByteReader r(buf);
    EXPECT_EQ(r.count(0, 1000), 1000u);
    EXPECT_FALSE(r.failed());
  }
  {
    ByteReader r(buf);
    EXPECT_EQ(r.count(0, 999), 0u);
    EXPECT_TRUE(r.failed());
  }
}

TEST(ByteReader, CountOfTruncatedInputFails) {
  auto buf = bytes_of({1, 0});
  ByteReader r(buf);
  EXPECT_EQ(r.count(1, 10), 0u);
  EXPECT_TRUE(r.failed());
}

TEST(ByteReader, EveryTruncationOfAMixedRecordFails) {
  ByteWriter w;
  w.u8(1);
  w.u16(2);
  w.u32(3);
  w.u64(4);
  w.str("five");
  w.u32(2);
  w.u64(6);
  w.u64(7);
  auto buf = w.take();
  for (size_t len = 0; len <= buf.size(); len++) {
    ByteReader r(std::span<const uint8_t>(buf).first(len));
    (void)r.u8();
    (void)r.u16();
    (void)r.u32();
    (void)r.u64();
    (void)r.str(16);
    uint32_t n = r.count(8, 16);
    for (uint32_t i = 0; i < n; i++)
      (void)r.u64();
    EXPECT_EQ(r.failed(), len < buf.size()) << "length " << len;
    EXPECT_LE(r.position(), len);
  }
}

} // namespace
} // namespace lmig

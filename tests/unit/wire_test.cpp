// Wire messages: encode/decode round trips and hostile payloads.
#include "transport/wire.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/image/byte_codec.hpp"

namespace lmig::wire {
namespace {

Hello sample_hello() {
  Hello h;
  h.version = kProtocolVersion;
  h.mode = LMIG_MODE_POSTCOPY;
  h.features = kFeatureStopCopy | kFeaturePostcopy;
  h.xfeatures = 0x2e7;
  h.xstate_size = 2696;
  h.kernel = "6.18.44-fc-v782";
  h.host = "source-host.example";
  h.auth = "s3cr3t token";
  return h;
}

void expect_equal(const Hello &a, const Hello &b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.features, b.features);
  EXPECT_EQ(a.xfeatures, b.xfeatures);
  EXPECT_EQ(a.xstate_size, b.xstate_size);
  EXPECT_EQ(a.kernel, b.kernel);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.auth, b.auth);
}

TEST(Wire, HelloRoundTrip) {
  const Hello h = sample_hello();
  auto bytes = encode(h);
  auto r = decode_hello(bytes);
  ASSERT_TRUE(r.ok()) << r.error().message;
  expect_equal(*r, h);
}

TEST(Wire, HelloRoundTripEmptyAndLongestStrings) {
  Hello h;
  auto r = decode_hello(encode(h));
  ASSERT_TRUE(r.ok()) << r.error().message;
  expect_equal(*r, h);

  h.kernel = std::string(256, 'k');
  h.host = std::string(256, 'h');
  h.auth = std::string(1024, 'a');
  h.features = ~0ull;
  h.xfeatures = ~0ull;
  h.version = 0xffffffffu;
  r = decode_hello(encode(h));
  ASSERT_TRUE(r.ok()) << r.error().message;
  expect_equal(*r, h);
}

TEST(Wire, HelloOverlongStringsAreRejected) {
  for (int which = 0; which < 3; which++) {
    Hello h = sample_hello();
    (which == 0 ? h.kernel : which == 1 ? h.host : h.auth) =
        std::string(which == 2 ? 1025 : 257, 'x');
    auto r = decode_hello(encode(h));
    ASSERT_FALSE(r.ok()) << which;
    EXPECT_EQ(r.error().code, LMIG_ERR_PROTOCOL);
    EXPECT_NE(r.error().message.find("malformed hello message"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("exceeds limit"), std::string::npos) << r.error().message;
  }
}

TEST(Wire, ErrorMsgRoundTrip) {
  ErrorMsg m;
  m.code = LMIG_ERR_TARGET_FAILED;
  m.sys_errno = -12345;
  m.message = "restore: mmap of 0x7f0000000000: Cannot allocate memory";
  auto r = decode_error(encode(m));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->code, m.code);
  EXPECT_EQ(r->sys_errno, m.sys_errno);
  EXPECT_EQ(r->message, m.message);
}

TEST(Wire, ErrorMsgKeepsEveryValidCode) {
  for (uint32_t code = LMIG_ERR_INVALID_ARGUMENT; code <= LMIG_ERR_INTERNAL; code++) {
    ErrorMsg m;
    m.code = code;
    auto r = decode_error(encode(m));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->code, code);
  }
}

TEST(Wire, ErrorMsgOutOfRangeCodesBecomeProtocol) {
  for (uint32_t code : {0u, 16u, 17u, 255u, 0x80000000u, 0xffffffffu}) {
    ErrorMsg m;
    m.code = code;
    m.message = "whatever";
    auto r = decode_error(encode(m));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->code, static_cast<uint32_t>(LMIG_ERR_PROTOCOL)) << code;
    EXPECT_EQ(r->message, "whatever");
  }
}

TEST(Wire, ErrorMsgMessageLimit) {
  ErrorMsg m;
  m.code = LMIG_ERR_SYSTEM;
  m.message = std::string(4096, 'm');
  EXPECT_TRUE(decode_error(encode(m)).ok());
  m.message.push_back('m');
  auto r = decode_error(encode(m));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LMIG_ERR_PROTOCOL);
}

TEST(Wire, RunningRoundTrip) {
  Running m;
  m.target_pid = 31337;
  m.vpid = -7;
  m.restore_ns = 0xfedcba9876543210ull;
  auto bytes = encode(m);
  EXPECT_EQ(bytes.size(), 16u);
  auto r = decode_running(bytes);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->target_pid, m.target_pid);
  EXPECT_EQ(r->vpid, m.vpid);
  EXPECT_EQ(r->restore_ns, m.restore_ns);
}

template <typename Decode>
void every_truncation_fails(const std::vector<uint8_t> &bytes, Decode decode, const char *what) {
  ASSERT_TRUE(decode(bytes).ok());
  for (size_t len = 0; len < bytes.size(); len++) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
    auto r = decode(cut);
    ASSERT_FALSE(r.ok()) << what << " truncated to " << len << " bytes decoded";
    EXPECT_EQ(r.error().code, LMIG_ERR_PROTOCOL) << r.error().message;
    EXPECT_NE(r.error().message.find(std::string("malformed ") + what + " message"),
              std::string::npos)
        << r.error().message;
  }
}

TEST(Wire, TruncatedPayloadsAreProtocolErrors) {
  every_truncation_fails(encode(sample_hello()), decode_hello, "hello");
  ErrorMsg e;
  e.code = LMIG_ERR_CONNECT;
  e.message = "connection refused";
  every_truncation_fails(encode(e), decode_error, "error");
  Running run;
  run.target_pid = 5;
  every_truncation_fails(encode(run), decode_running, "running");
}

TEST(Wire, HugeStringLengthIsRejected) {
  ByteWriter w;
  w.u32(1);
  w.i32(0);
  w.u32(0xffffffffu); // message length
  auto r = decode_error(w.take());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, LMIG_ERR_PROTOCOL);
}

TEST(Wire, PeerError) {
  ErrorMsg m;
  m.code = LMIG_ERR_INCOMPATIBLE;
  m.sys_errno = 95;
  m.message = "CPU lacks AVX-512";
  Error e = peer_error(m, Side::target);
  EXPECT_EQ(e.code, LMIG_ERR_INCOMPATIBLE);
  EXPECT_EQ(e.sys_errno, 95);
  EXPECT_EQ(e.side, Side::target);
  EXPECT_EQ(e.message, "CPU lacks AVX-512");
  EXPECT_EQ(e.describe(), "target: CPU lacks AVX-512");
}

TEST(Wire, PeerErrorTextIsMadePrintable) {
  ErrorMsg m;
  m.code = LMIG_ERR_TARGET_FAILED;
  m.message = "disk full\nlmig: migrated (forged)\x1b[2J";
  Error e = peer_error(m, Side::target);
  EXPECT_EQ(e.message, "disk full\\nlmig: migrated (forged)\\x1b[2J");
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
}

TEST(Wire, TheLongestHelloFitsTheBoundBeforeAuthentication) {
  Hello h = sample_hello();
  h.kernel = std::string(kMaxHelloKernel, 'k');
  h.host = std::string(kMaxHelloHost, 'h');
  h.auth = std::string(kMaxHelloAuth, 'a');
  auto bytes = encode(h);
  EXPECT_LE(bytes.size(), kMaxHelloPayload);
  auto r = decode_hello(bytes);
  ASSERT_TRUE(r.ok()) << r.error().message;
  expect_equal(*r, h);
  // And the bound is small: a peer nobody has checked costs little.
  EXPECT_LE(kMaxHelloPayload, 64u << 10);
}

TEST(Wire, TypeNames) {
  EXPECT_STREQ(type_name(Type::hello), "hello");
  EXPECT_STREQ(type_name(Type::hello_ack), "hello-ack");
  EXPECT_STREQ(type_name(Type::image), "image");
  EXPECT_STREQ(type_name(Type::ready), "ready");
  EXPECT_STREQ(type_name(Type::pages), "pages");
  EXPECT_STREQ(type_name(Type::pages_end), "pages-end");
  EXPECT_STREQ(type_name(Type::running), "running");
  EXPECT_STREQ(type_name(Type::done), "done");
  EXPECT_STREQ(type_name(Type::error), "error");
  EXPECT_STREQ(type_name(Type::page_request), "page-request");
  EXPECT_STREQ(type_name(static_cast<Type>(0)), "unknown");
  EXPECT_STREQ(type_name(static_cast<Type>(999)), "unknown");
}

} // namespace
} // namespace lmig::wire

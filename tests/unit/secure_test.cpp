// The secure layer: sealed frames, the handshake between two ends of a
// socket pair (same key, different keys, anonymous, a channel of an unknown
// migration), pre-shared key files, and RDMA channel proofs.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "tests/unit/handshake_pair.hpp"
#include "tests/unit/scratch_dir.hpp"
#include "transport/secure/channel_proof.hpp"
#include "transport/secure/frame_cipher.hpp"
#include "transport/secure/handshake.hpp"
#include "transport/secure/psk.hpp"
#include "transport/tcp_connection.hpp"

namespace lmig {
namespace {

Key key_of(uint8_t b) {
  Key k;
  k.fill(b);
  return k;
}

struct Sealed {
  wire::FrameHeader h;
  std::vector<uint8_t> bytes; // payload then tag
};

Sealed seal(FrameSealer &s, wire::Type type, std::string text) {
  Sealed out;
  out.h = {wire::kMagic, static_cast<uint16_t>(type), 0, static_cast<uint32_t>(text.size()), 0};
  out.bytes.assign(text.begin(), text.end());
  std::span<uint8_t> piece(out.bytes);
  uint8_t tag[kTagBytes];
  EXPECT_TRUE(s.seal(out.h, {&piece, 1}, tag).ok());
  out.bytes.insert(out.bytes.end(), tag, tag + kTagBytes);
  return out;
}

TEST(FrameCipher, SealedFramesOpenInOrderAndHideTheirPayload) {
  FrameSealer s(key_of(7));
  FrameOpener o(key_of(7));
  for (int i = 0; i < 3; i++) {
    const std::string text = "page data number " + std::to_string(i);
    Sealed f = seal(s, wire::Type::pages, text);
    EXPECT_TRUE(f.h.flags & wire::kFrameSealed);
    EXPECT_EQ(f.h.length, text.size() + kTagBytes);
    EXPECT_EQ(std::string(f.bytes.begin(), f.bytes.begin() + static_cast<long>(text.size()))
                  .find("page data"),
              std::string::npos);
    auto n = o.open(f.h, f.bytes.data(), "peer");
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(std::string(f.bytes.begin(), f.bytes.begin() + static_cast<long>(*n)), text);
  }
}

// Sealing into another buffer, from pieces, gives the frame sealing in place
// gives: the peer cannot tell which one the sender used.
TEST(FrameCipher, SealingToAnotherBufferGivesTheSameFrame) {
  FrameSealer in_place(key_of(9)), to_buffer(key_of(9));
  FrameOpener o(key_of(9));
  for (int i = 0; i < 3; i++) {
    const std::string a = "header " + std::to_string(i), b(5000 + i, 'p');
    Sealed want = seal(in_place, wire::Type::pages, a + b);
    wire::FrameHeader h{wire::kMagic, static_cast<uint16_t>(wire::Type::pages), 0,
                        static_cast<uint32_t>(a.size() + b.size()), 0};
    const std::span<const uint8_t> pieces[] = {
        {reinterpret_cast<const uint8_t *>(a.data()), a.size()},
        {},
        {reinterpret_cast<const uint8_t *>(b.data()), b.size()}};
    std::vector<uint8_t> out(a.size() + b.size() + kTagBytes);
    ASSERT_TRUE(to_buffer.seal_to(h, pieces, out.data()).ok());
    EXPECT_EQ(h.length, want.h.length);
    EXPECT_EQ(h.flags, want.h.flags);
    EXPECT_EQ(out, want.bytes);
    auto n = o.open(h, out.data(), "peer");
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(std::string(out.begin(), out.begin() + static_cast<long>(*n)), a + b);
  }
}

TEST(FrameCipher, AlteredReplayedOrReorderedFramesFail) {
  {
    FrameSealer s(key_of(1));
    FrameOpener o(key_of(1));
    Sealed f = seal(s, wire::Type::image, "hello there");
    f.bytes[3] ^= 1;
    auto r = o.open(f.h, f.bytes.data(), "peer");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("failed authentication"), std::string::npos);
  }
  {
    FrameSealer s(key_of(1));
    FrameOpener o(key_of(1));
    Sealed f = seal(s, wire::Type::image, "hello there");
    f.h.type = static_cast<uint16_t>(wire::Type::error); // the header is authenticated too
    EXPECT_FALSE(o.open(f.h, f.bytes.data(), "peer").ok());
  }
  {
    FrameSealer s(key_of(1));
    FrameOpener o(key_of(1));
    Sealed a = seal(s, wire::Type::image, "first");
    Sealed again = a;
    ASSERT_TRUE(o.open(a.h, a.bytes.data(), "peer").ok());
    EXPECT_FALSE(o.open(again.h, again.bytes.data(), "peer").ok()) << "a replay opened";
  }
  {
    FrameSealer s(key_of(1));
    FrameOpener o(key_of(1));
    Sealed a = seal(s, wire::Type::image, "first");
    Sealed b = seal(s, wire::Type::image, "second");
    EXPECT_FALSE(o.open(b.h, b.bytes.data(), "peer").ok()) << "out of order opened";
  }
  {
    FrameSealer s(key_of(1));
    FrameOpener o(key_of(2));
    Sealed a = seal(s, wire::Type::image, "first");
    EXPECT_FALSE(o.open(a.h, a.bytes.data(), "peer").ok()) << "opened with another key";
  }
}

TEST(FrameCipher, ClearAndSealedFramesAreNotMixed) {
  FrameCrypto c(key_of(1), key_of(1));
  wire::FrameHeader clear{wire::kMagic, 1, 0, 10, 0};
  EXPECT_FALSE(check_sealing(clear, &c, "peer").ok());
  wire::FrameHeader sealed{wire::kMagic, 1, wire::kFrameSealed, 10 + kTagBytes, 0};
  EXPECT_FALSE(check_sealing(sealed, nullptr, "peer").ok());
  auto n = check_sealing(sealed, &c, "peer");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 10u);
  wire::FrameHeader short_one{wire::kMagic, 1, wire::kFrameSealed, 3, 0};
  EXPECT_FALSE(check_sealing(short_one, &c, "peer").ok());
}

using test::bytes;
using test::Bytes;
using test::fixed;
using test::Outcome;
using test::Pair;
using test::shake;

TEST(Handshake, SameKeyAuthenticatesBothEndsAndTheirFramesFlow) {
  Pair p;
  const Bytes psk = bytes("0123456789abcdef0123456789abcdef");
  Outcome o = shake(p, psk, fixed(psk));
  ASSERT_TRUE(o.dialled.ok()) << o.dialled.error().message;
  ASSERT_TRUE(o.accepted.ok()) << o.accepted.error().message;
  EXPECT_TRUE(o.dialled->authenticated);
  EXPECT_TRUE(o.accepted->authenticated);
  EXPECT_EQ(o.dialled->session_secret, o.accepted->session_secret);
  p.dialler.set_crypto(o.dialled->crypto);
  p.listener.set_crypto(o.accepted->crypto);
  const Bytes msg = bytes("an image, sealed");
  ASSERT_TRUE(p.dialler.send(wire::Type::image, msg).ok());
  Bytes got;
  auto t = p.listener.recv(got);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, wire::Type::image);
  EXPECT_EQ(got, msg);
  ASSERT_TRUE(p.listener.send(wire::Type::ready).ok());
  t = p.dialler.recv(got);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, wire::Type::ready);
}

TEST(Handshake, EachRunHasFreshKeys) {
  const Bytes psk = bytes("0123456789abcdef0123456789abcdef");
  Pair a, b;
  Outcome x = shake(a, psk, fixed(psk)), y = shake(b, psk, fixed(psk));
  ASSERT_TRUE(x.dialled.ok() && y.dialled.ok());
  EXPECT_NE(x.dialled->session_secret, y.dialled->session_secret);
}

TEST(Handshake, DifferentKeysFailOnBothEnds) {
  Pair p;
  Outcome o = shake(p, bytes("the source's key, 32 bytes long!"),
                    fixed(bytes("the target's key, 32 bytes long!")));
  ASSERT_FALSE(o.dialled.ok());
  EXPECT_NE(o.dialled.error().message.find("could not prove"), std::string::npos)
      << o.dialled.error().message;
  ASSERT_FALSE(o.accepted.ok());
}

TEST(Handshake, AnonymousWhenNeitherHasAKey) {
  Pair p;
  Outcome o = shake(p, {}, fixed({}));
  ASSERT_TRUE(o.dialled.ok()) << o.dialled.error().message;
  ASSERT_TRUE(o.accepted.ok());
  EXPECT_FALSE(o.dialled->authenticated);
  EXPECT_TRUE(o.dialled->crypto) << "anonymous connections are encrypted all the same";
}

TEST(Handshake, ARefusalReachesTheDiallerWithItsReason) {
  Pair p;
  Outcome o = shake(
      p, bytes("0123456789abcdef0123456789abcdef"),
      [](wire::Role role, uint64_t session, bool) -> Result<Bytes> {
        EXPECT_EQ(role, wire::Role::bulk_reconnect);
        EXPECT_EQ(session, 0x1234u);
        return make_error(LMIG_ERR_PROTOCOL, "no migration in progress with that session");
      },
      wire::Role::bulk_reconnect, 0x1234);
  ASSERT_FALSE(o.dialled.ok());
  EXPECT_NE(o.dialled.error().message.find("no migration in progress"), std::string::npos)
      << o.dialled.error().message;
  EXPECT_EQ(o.dialled.error().side, Side::target);
}

TEST(Handshake, ACleartextDiallerIsRefusedUnlessAllowed) {
  Pair p;
  auto f = std::async(std::launch::async,
                      [&] { return handshake_accept(p.listener, fixed({}), false, 5000); });
  auto d = handshake_dial(p.dialler, {}, wire::Role::control, 0, true, 5000);
  EXPECT_FALSE(d.ok());
  EXPECT_FALSE(f.get().ok());
}

TEST(PskFile, OnlyAPrivateFileOfEnoughBytesIsTaken) {
  test::TempDir dir;
  const std::string path = dir.file("psk");
  {
    std::ofstream(path) << "0123456789abcdef0123456789abcdef\n";
  }
  ::chmod(path.c_str(), 0644);
  auto r = read_psk_file(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
  ::chmod(path.c_str(), 0600);
  r = read_psk_file(path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->size(), 32u) << "the trailing newline is not part of the key";
  {
    std::ofstream(path) << "short\n";
  }
  r = read_psk_file(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("fewer than"), std::string::npos) << r.error().message;
  EXPECT_FALSE(read_psk_file(dir.file("missing")).ok());
}

TEST(ChannelProof, ProvesTheSecretSessionAndRoleOnce) {
  const Key secret = key_of(9);
  const std::string proof = make_channel_proof(secret, 42, wire::Role::bulk);
  std::string nonce;
  EXPECT_TRUE(check_channel_proof(proof, secret, 42, wire::Role::bulk, nonce).ok());
  EXPECT_FALSE(nonce.empty());
  EXPECT_FALSE(check_channel_proof(proof, key_of(8), 42, wire::Role::bulk, nonce).ok());
  EXPECT_FALSE(check_channel_proof(proof, secret, 43, wire::Role::bulk, nonce).ok());
  EXPECT_FALSE(check_channel_proof(proof, secret, 42, wire::Role::demand, nonce).ok());
  EXPECT_FALSE(check_channel_proof("", secret, 42, wire::Role::bulk, nonce).ok());
  EXPECT_FALSE(check_channel_proof("zz" + proof.substr(2), secret, 42, wire::Role::bulk, nonce).ok());
  EXPECT_NE(make_channel_proof(secret, 42, wire::Role::bulk), proof) << "a fresh nonce each time";
}

} // namespace
} // namespace lmig

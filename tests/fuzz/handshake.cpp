// The handshake that opens every connection (transport/secure/handshake.hpp)
// against a hostile peer, and the certificate check it relies on
// (certificates.hpp). Byte 0 picks the part, byte 1 its options
// (handshake_input.hpp):
//   listener     handshake_accept on one end of a socket pair; the rest of
//                the input is what the dialler sends (frames as on the wire,
//                or anything else), then it closes. Options: certificate
//                mode (the target's certificate), the key the lookup answers
//                (fixed, empty, or a refusal), cleartext allowed.
//   dialler      handshake_dial; the rest is what the listener answers.
//                Options: certificate mode (the source's certificate) and
//                the name the target's must carry, the key (fixed or
//                empty), the role, cleartext.
//   verify_peer  CertIdentity::verify_peer. The rest: a u32 length and the
//                chain, a u32 length and the message, then the signature (a
//                length past the end takes what is left). Options: which
//                end the peer is, the name it must carry.
// No handshake may succeed: either end's MAC covers a transcript holding
// its own fresh ephemeral key, which no input knows (so a recorded genuine
// handshake does not replay either). A refusing end says why, and what it
// tells its peer, in clear and at most once, is what it returns.
// verify_peer accepts only a chain the fixed CA signed for that end, whose
// leaf signed the message (checked here with OpenSSL directly) and carries
// the name; it returns that leaf's subject. No OpenSSL error is left
// queued on the thread. The peer's socket is closed for writing once the
// input is in, so no read waits.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>

#include "engine/image/byte_codec.hpp"
#include "tests/fuzz/fuzz_target.hpp"
#include "tests/fuzz/handshake_input.hpp"
#include "transport/secure/handshake.hpp"

namespace {

using namespace lmig;
using Bytes = std::vector<uint8_t>;

constexpr int kTimeoutMs = 100;
// The peer writes the input in one go: it must fit the socket's buffer.
constexpr size_t kMaxInput = 64 << 10;

struct Sockets {
  Connection end; // the end under test
  UniqueFd peer;  // the input's
};

// A socket pair whose peer side has sent `bytes` and closed for writing (it
// still reads, so the end under test can answer). peer: what the end
// calls it.
Sockets pair_with(std::span<const uint8_t> bytes, const char *peer) {
  int sv[2];
  fuzz::check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
  Sockets s{Connection::adopt(UniqueFd(sv[0]), peer), UniqueFd(sv[1])};
  if (!bytes.empty())
    fuzz::check(::send(sv[1], bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL) ==
                    static_cast<ssize_t>(bytes.size()),
                "the socket did not take the whole input");
  ::shutdown(sv[1], SHUT_WR);
  return s;
}

// All the end under test wrote (it is done: nothing more comes).
Bytes said_to(int peer) {
  Bytes out;
  uint8_t buf[4096];
  for (;;) {
    const ssize_t n = ::recv(peer, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0)
      out.insert(out.end(), buf, buf + n);
    else if (n == 0 || errno != EINTR)
      return out;
  }
}

// A refusal: why, in words (a peer's own error keeps its words, which may
// be none, and its side), and what the end told its peer: its own frame of
// the handshake at most, then at most one error, all in clear (no key was
// proved), the error the same as it returns and never an answer to the
// peer's.
void check_refusal(const Error &e, Side peer_side, std::span<const uint8_t> said, wire::Type own,
                   bool own_first) {
  if (e.side == Side::local)
    fuzz::check(!e.message.empty(), "a refusal says nothing");
  else
    fuzz::check(e.side == peer_side, "a peer's error came back from another side");
  size_t at = 0, frames = 0;
  bool told = false, opened = false;
  while (at < said.size()) {
    fuzz::check(!told, "an end said more after its error");
    wire::FrameHeader h;
    fuzz::check(said.size() - at >= sizeof h, "an end sent part of a frame header");
    std::memcpy(&h, said.data() + at, sizeof h);
    at += sizeof h;
    fuzz::check(h.magic == wire::kMagic && h.flags == 0 && h.reserved == 0,
                "an end sent a frame not in clear before a key was proved");
    fuzz::check(said.size() - at >= h.length, "an end sent part of a frame");
    const auto payload = said.subspan(at, h.length);
    at += h.length;
    if (static_cast<wire::Type>(h.type) == wire::Type::error) {
      auto m = wire::decode_error(payload);
      fuzz::check(m.ok(), "an end's error does not decode");
      fuzz::check(m->code == static_cast<uint32_t>(e.code) && m->message == e.message,
                  "an end told its peer other than what it returns");
      fuzz::check(e.side == Side::local, "an end answered its peer's error with its own");
      told = true;
    } else {
      fuzz::check(static_cast<wire::Type>(h.type) == own && frames == 0,
                  "an end sent a frame that is not its part of the handshake");
      opened = true;
    }
    frames++;
  }
  if (own_first)
    fuzz::check(opened, "the dialler did not open with its auth_init");
}

void listener(uint8_t opt, std::span<const uint8_t> input) {
  Sockets s = pair_with(input, "dialler");
  CertAuth certs;
  if (opt & fuzz::kHsCerts)
    certs.identity = fuzz::target_identity();
  const KeyLookup lookup = [opt](wire::Role role, uint64_t, bool) -> Result<Bytes> {
    fuzz::check(role <= wire::Role::demand, "the key lookup was asked about a role there is not");
    if (opt & fuzz::kHsRefuse)
      return make_error(LMIG_ERR_INVALID_ARGUMENT, "no migration has that session here");
    return opt & fuzz::kHsNoKey ? Bytes{} : fuzz::handshake_key();
  };
  auto r = handshake_accept(s.end, lookup, opt & fuzz::kHsCleartext, kTimeoutMs, certs);
  fuzz::check(!r.ok(), "the listener accepted a dialler that cannot know its ephemeral key");
  check_refusal(r.error(), Side::source, said_to(s.peer.get()), wire::Type::auth_reply, false);
}

void dialler(uint8_t opt, std::span<const uint8_t> input) {
  Sockets s = pair_with(input, "listener");
  CertAuth certs;
  if (opt & fuzz::kHsCerts) {
    certs.identity = fuzz::source_identity();
    if (opt & fuzz::kHsPeerName)
      certs.peer_name = "target.example";
  }
  const Bytes key = opt & fuzz::kHsNoKey ? Bytes{} : fuzz::handshake_key();
  auto r = handshake_dial(s.end, key, fuzz::hs_role_of(opt), 0x5e55, opt & fuzz::kHsCleartext,
                          kTimeoutMs, certs);
  fuzz::check(!r.ok(), "the dialler accepted a listener that cannot know its ephemeral key");
  check_refusal(r.error(), Side::target, said_to(s.peer.get()), wire::Type::auth_init, true);
}

// What the CA signed for each end, read here apart from CertIdentity.
struct Signed {
  std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};
  std::string subject;
  std::vector<std::string> names;
};

Signed read_signed(const char *pem, const std::string &subject, std::vector<std::string> names) {
  Signed s;
  std::unique_ptr<BIO, decltype(&BIO_free)> b(BIO_new_mem_buf(pem, -1), BIO_free);
  s.cert.reset(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  fuzz::check(s.cert != nullptr, "the fixed certificate does not parse");
  s.subject = subject;
  s.names = std::move(names);
  return s;
}

const Signed &signed_for(PeerEnd end) {
  static const Signed target = read_signed(fuzz::kTargetCertPem, fuzz::target_identity()->subject(),
                                           {"target.example", "127.0.0.1"});
  static const Signed source =
      read_signed(fuzz::kSourceCertPem, fuzz::source_identity()->subject(), {});
  return end == PeerEnd::target ? target : source;
}

bool signs(X509 *cert, std::span<const uint8_t> msg, std::span<const uint8_t> sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const bool ok =
      EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, X509_get0_pubkey(cert)) == 1 &&
      EVP_DigestVerify(md.get(), sig.data(), sig.size(), msg.data(), msg.size()) == 1;
  ERR_clear_error();
  return ok;
}

void verify(uint8_t opt, std::span<const uint8_t> input) {
  ByteReader r(input);
  auto piece = [&r] {
    const uint32_t n = r.u32();
    return r.take(std::min<size_t>(n, r.remaining()));
  };
  const auto chain = piece();
  const auto msg = piece();
  const auto sig = r.take(r.remaining());
  const PeerEnd end = opt & fuzz::kVpSource ? PeerEnd::source : PeerEnd::target;
  const std::string &name = fuzz::vp_name_of(opt);
  // As the other end checks it.
  const auto &checker = end == PeerEnd::target ? fuzz::source_identity() : fuzz::target_identity();
  auto who = checker->verify_peer(chain, msg, sig, end, name);
  if (!who.ok()) {
    fuzz::check(!who.error().message.empty(), "a refused certificate says nothing");
    return;
  }
  const Signed &s = signed_for(end);
  fuzz::check(*who == s.subject,
              "verify_peer accepted a certificate the CA did not sign for that end");
  fuzz::check(signs(s.cert.get(), msg, sig),
              "verify_peer accepted a signature its key did not make");
  fuzz::check(name.empty() || std::find(s.names.begin(), s.names.end(), name) != s.names.end(),
              "verify_peer accepted a certificate that does not carry the name");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > kMaxInput)
    return 0;
  const std::span<const uint8_t> rest(data + 2, size - 2);
  switch (static_cast<fuzz::HandshakePart>(data[0] %
                                           static_cast<uint8_t>(fuzz::HandshakePart::kCount))) {
  case fuzz::HandshakePart::listener: listener(data[1], rest); break;
  case fuzz::HandshakePart::dialler: dialler(data[1], rest); break;
  case fuzz::HandshakePart::verify_peer: verify(data[1], rest); break;
  case fuzz::HandshakePart::kCount: break;
  }
  // What a peer made OpenSSL fail at must not linger on the thread, to be
  // reported as the reason of a later failure.
  fuzz::check(ERR_peek_error() == 0, "OpenSSL errors were left queued on the thread");
  return 0;
}

#include "transport/secure/handshake.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <memory>

#include "engine/image/byte_codec.hpp"

namespace lmig {
namespace {

constexpr uint32_t kHandshakeVersion = 2;
constexpr uint32_t kHasKey = 1;
constexpr uint32_t kCleartext = 2;
constexpr uint32_t kHasCert = 4; // the end shows a certificate and wants the other's
constexpr size_t kPub = 32, kNonce = 32, kMac = 32;
const char kSalt[] = "lmig handshake v1";

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, kMac>;

struct PkeyFree {
  void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX *p) const { EVP_PKEY_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Error refused(const std::string &why) {
  return make_error(LMIG_ERR_INVALID_ARGUMENT, "authentication failed: " + why);
}

Result<Pkey> new_ephemeral(std::array<uint8_t, kPub> &pub) {
  Pkey k(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  size_t len = pub.size();
  if (!k || !EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) || len != pub.size())
    return make_error(LMIG_ERR_INTERNAL, "X25519 key generation failed");
  return k;
}

Result<Bytes> shared_secret(EVP_PKEY *own, std::span<const uint8_t> peer_pub) {
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_pub.data(),
                                        peer_pub.size()));
  PkeyCtx ctx(EVP_PKEY_CTX_new(own, nullptr));
  Bytes out(32);
  size_t len = out.size();
  if (!peer || !ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) <= 0 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &len) <= 0 || len != 32) {
    // The peer's doing: left queued, OpenSSL's errors would pass for the
    // reason of a later failure on this thread (certificates.cpp reads the
    // oldest).
    ERR_clear_error();
    return refused("the peer's key exchange value is not valid");
  }
  uint8_t any = 0;
  for (uint8_t b : out)
    any |= b;
  if (!any) // a low-order point: the peer forces a known secret
    return refused("the peer's key exchange value is degenerate");
  return out;
}

Mac hmac(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  Mac m{};
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
       m.data(), &len);
  return m;
}

// The key schedule: one pseudo-random key from the proved key and the
// exchange, every secret expanded from it and the transcript.
struct Schedule {
  Mac prk;
  Mac transcript;
  Key expand(const char *label) const {
    Bytes info(label, label + std::strlen(label));
    info.insert(info.end(), transcript.begin(), transcript.end());
    info.push_back(1);
    Mac m = hmac(prk, info);
    Key k;
    std::memcpy(k.data(), m.data(), k.size());
    return k;
  }
  Mac finished(const char *label) const { return hmac(expand(label), transcript); }
};

Schedule make_schedule(std::span<const uint8_t> key, const Bytes &dh, const Bytes &init,
                       const Bytes &reply_head) {
  Schedule s;
  Bytes ikm(key.begin(), key.end());
  ikm.insert(ikm.end(), dh.begin(), dh.end());
  s.prk = hmac({reinterpret_cast<const uint8_t *>(kSalt), sizeof kSalt - 1}, ikm);
  OPENSSL_cleanse(ikm.data(), ikm.size());
  Bytes t = init;
  t.insert(t.end(), reply_head.begin(), reply_head.end());
  SHA256(t.data(), t.size(), s.transcript.data());
  return s;
}

HandshakeResult keys_for(const Schedule &s, bool dialler, bool cleartext, bool authenticated) {
  HandshakeResult r;
  const Key c2s = s.expand("dialler to listener"), s2c = s.expand("listener to dialler");
  if (!cleartext)
    r.crypto = dialler ? std::make_shared<FrameCrypto>(c2s, s2c)
                       : std::make_shared<FrameCrypto>(s2c, c2s);
  r.session_secret = s.expand("session secret");
  r.authenticated = authenticated;
  return r;
}

// Reads the next frame, which must be `want` (a peer's error frame becomes
// its error).
Result<Bytes> expect(Connection &c, wire::Type want, int timeout_ms, Side peer_side) {
  Bytes buf;
  LMIG_ASSIGN_OR_RETURN(wire::Type t, c.recv_within(buf, timeout_ms, wire::kMaxHelloPayload));
  if (t == wire::Type::error) {
    LMIG_ASSIGN_OR_RETURN(auto em, wire::decode_error(buf));
    return wire::peer_error(em, peer_side);
  }
  if (t != want)
    return make_error(LMIG_ERR_PROTOCOL, "peer " + c.peer() + " sent " + wire::type_name(t) +
                                             " during the handshake (expected " +
                                             wire::type_name(want) + ")");
  return buf;
}

void tell(Connection &c, const Error &e) {
  wire::ErrorMsg m{static_cast<uint32_t>(e.code), 0, e.message};
  (void)c.send(wire::Type::error, wire::encode(m));
}

// What an end signs: its label, then the hash of every handshake byte so far
// (`before`, then the frame it is writing up to its signature).
Bytes to_sign(const char *label, const Bytes &before, const Bytes &frame) {
  Bytes all = before;
  all.insert(all.end(), frame.begin(), frame.end());
  Bytes out(label, label + std::strlen(label) + 1);
  const size_t at = out.size();
  out.resize(at + SHA256_DIGEST_LENGTH);
  SHA256(all.data(), all.size(), out.data() + at);
  return out;
}

Mac hash_of(const Mac &transcript, std::span<const uint8_t> more) {
  Bytes all(transcript.begin(), transcript.end());
  all.insert(all.end(), more.begin(), more.end());
  Mac m{};
  SHA256(all.data(), all.size(), m.data());
  return m;
}

const char kListenerSigns[] = "lmig handshake: the listener signs";
const char kDiallerSigns[] = "lmig handshake: the dialler signs";

bool same(const Mac &a, std::span<const uint8_t> b) {
  return b.size() == a.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// A certificate and the signature of this end over `signed_part`, as a
// reply or finish frame carries them.
Status put_certificate(ByteWriter &w, const CertIdentity &id, const char *label,
                       const Bytes &signed_part) {
  w.u32(static_cast<uint32_t>(id.chain().size()));
  w.raw(id.chain().data(), id.chain().size());
  LMIG_ASSIGN_OR_RETURN(Bytes sig, id.sign(to_sign(label, signed_part, w.data())));
  w.u32(static_cast<uint32_t>(sig.size()));
  w.raw(sig.data(), sig.size());
  return {};
}

struct ShownCertificate {
  std::span<const uint8_t> chain;
  size_t signed_end = 0; // where the signed bytes of the frame end (before the signature)
  std::span<const uint8_t> sig;
};

ShownCertificate take_certificate(ByteReader &r) {
  ShownCertificate c;
  c.chain = r.take(r.u32());
  c.signed_end = r.position();
  c.sig = r.take(r.u32());
  return c;
}

} // namespace

Result<HandshakeResult> handshake_dial(Connection &c, std::span<const uint8_t> key,
                                       wire::Role role, uint64_t session, bool cleartext,
                                       int timeout_ms, const CertAuth &certs) {
  const CertIdentity *id = role == wire::Role::control ? certs.identity.get() : nullptr;
  std::array<uint8_t, kPub> pub;
  std::array<uint8_t, kNonce> nonce;
  LMIG_ASSIGN_OR_RETURN(Pkey eph, new_ephemeral(pub));
  if (RAND_bytes(nonce.data(), nonce.size()) != 1)
    return make_error(LMIG_ERR_INTERNAL, "no randomness for the handshake");
  ByteWriter w;
  w.u32(kHandshakeVersion);
  w.u32((key.empty() ? 0 : kHasKey) | (cleartext ? kCleartext : 0) | (id ? kHasCert : 0));
  w.u32(static_cast<uint32_t>(role));
  w.u64(session);
  w.raw(pub.data(), pub.size());
  w.raw(nonce.data(), nonce.size());
  const Bytes init = w.take();
  LMIG_TRY(c.send(wire::Type::auth_init, init));

  LMIG_ASSIGN_OR_RETURN(Bytes reply, expect(c, wire::Type::auth_reply, timeout_ms, Side::target));
  auto fail = [&](Error e) {
    tell(c, e);
    return e;
  };
  ByteReader r(reply);
  const uint32_t flags = r.u32();
  auto peer_pub = r.take(kPub);
  r.take(kNonce); // in the transcript
  ShownCertificate shown;
  if (flags & kHasCert)
    shown = take_certificate(r);
  const size_t head = r.position();
  auto peer_mac = r.take(kMac);
  if (r.failed() || r.remaining())
    return make_error(LMIG_ERR_PROTOCOL, "malformed handshake reply from " + c.peer());
  LMIG_ASSIGN_OR_RETURN(Bytes dh, shared_secret(eph.get(), peer_pub));
  const Schedule s = make_schedule(key, dh, init, Bytes(reply.begin(), reply.begin() + head));
  if (!same(s.finished("listener finished"), peer_mac))
    return fail(refused(!key.empty() && !(flags & kHasKey)
                            ? "the target holds no pre-shared key (give lmigd the same --psk-file)"
                            : "the target could not prove it holds the same key; nothing was "
                              "sent to it"));
  std::string subject;
  if (id) {
    if (!(flags & kHasCert))
      return fail(refused("the target showed no certificate (give lmigd --cert, --key and --ca); "
                          "nothing was sent to it"));
    const Bytes signed_part(reply.begin(), reply.begin() + static_cast<long>(shown.signed_end));
    auto who = id->verify_peer(shown.chain, to_sign(kListenerSigns, init, signed_part), shown.sig,
                               PeerEnd::target, certs.peer_name);
    if (!who.ok())
      return fail(std::move(who).error());
    subject = std::move(who).value();
  }
  // The finish: this end's certificate when the target asked for it, then
  // the proof of the key over everything before.
  ByteWriter f;
  if (id && (flags & kHasCert)) {
    Bytes before = init;
    before.insert(before.end(), reply.begin(), reply.end());
    LMIG_TRY(put_certificate(f, *id, kDiallerSigns, before));
  }
  const Bytes finish_head = f.data();
  const Mac mine = hmac(s.expand("dialler finished"), hash_of(s.transcript, finish_head));
  f.raw(mine.data(), mine.size());
  LMIG_TRY(c.send(wire::Type::auth_finish, f.take()));
  HandshakeResult out = keys_for(s, true, cleartext, !key.empty() || id);
  out.role = role;
  out.session = session;
  out.peer_subject = std::move(subject);
  return out;
}

Result<HandshakeResult> handshake_accept(Connection &c, const KeyLookup &key_for,
                                         bool allow_cleartext, int timeout_ms,
                                         const CertAuth &certs) {
  auto first = expect(c, wire::Type::auth_init, timeout_ms, Side::source);
  if (!first.ok()) { // a stranger is told why it is turned away (if it still listens)
    if (first.error().side != Side::source)
      tell(c, first.error());
    return std::move(first).error();
  }
  auto fail = [&](Error e) {
    tell(c, e);
    return e;
  };
  const Bytes init = std::move(first).value();
  ByteReader r(init);
  const uint32_t version = r.u32();
  const uint32_t flags = r.u32();
  const uint32_t role = r.u32();
  const uint64_t session = r.u64();
  auto peer_pub = r.take(kPub);
  r.take(kNonce); // in the transcript
  if (r.failed() || r.remaining() || role > static_cast<uint32_t>(wire::Role::demand))
    return fail(make_error(LMIG_ERR_PROTOCOL, "malformed handshake from " + c.peer()));
  if (version != kHandshakeVersion)
    return fail(make_error(LMIG_ERR_INCOMPATIBLE,
                           "handshake version " + std::to_string(version) +
                               " is not supported (this lmigd speaks version " +
                               std::to_string(kHandshakeVersion) + ")"));
  const bool cleartext = flags & kCleartext;
  if (cleartext && !allow_cleartext)
    return fail(refused("the source asks for no encryption, which this lmigd does not allow"));
  const bool control = role == static_cast<uint32_t>(wire::Role::control);
  const CertIdentity *id = control ? certs.identity.get() : nullptr;
  if (id && !(flags & kHasCert))
    return fail(refused("the source showed no certificate; this lmigd takes only sources whose "
                        "certificate its --ca signed (give lmig --cert, --key and --ca)"));
  auto key = key_for(static_cast<wire::Role>(role), session, flags & kHasKey);
  if (!key.ok())
    return fail(std::move(key).error());
  std::array<uint8_t, kPub> pub;
  std::array<uint8_t, kNonce> nonce;
  LMIG_ASSIGN_OR_RETURN(Pkey eph, new_ephemeral(pub));
  if (RAND_bytes(nonce.data(), nonce.size()) != 1)
    return make_error(LMIG_ERR_INTERNAL, "no randomness for the handshake");
  auto dh = shared_secret(eph.get(), peer_pub);
  if (!dh.ok())
    return fail(std::move(dh).error());
  ByteWriter w;
  w.u32((key->empty() ? 0 : kHasKey) | (id ? kHasCert : 0));
  w.raw(pub.data(), pub.size());
  w.raw(nonce.data(), nonce.size());
  if (id)
    LMIG_TRY(put_certificate(w, *id, kListenerSigns, init));
  const Bytes head = w.data();
  const Schedule s = make_schedule(*key, *dh, init, head);
  const Mac mine = s.finished("listener finished");
  w.raw(mine.data(), mine.size());
  const Bytes reply = w.take();
  LMIG_TRY(c.send(wire::Type::auth_reply, reply));

  LMIG_ASSIGN_OR_RETURN(Bytes fin, expect(c, wire::Type::auth_finish, timeout_ms, Side::source));
  ByteReader fr(fin);
  ShownCertificate shown;
  if (id)
    shown = take_certificate(fr);
  const size_t finish_head = fr.position();
  auto peer_mac = fr.take(kMac);
  if (fr.failed() || fr.remaining())
    return fail(make_error(LMIG_ERR_PROTOCOL, "malformed handshake finish from " + c.peer()));
  const Mac want = hmac(s.expand("dialler finished"),
                        hash_of(s.transcript, std::span(fin).first(finish_head)));
  if (!same(want, peer_mac))
    return fail(refused(!control ? "the connection could not prove it belongs to its migration"
                        : key->empty()
                            ? "the source's handshake finish does not match (altered on the way?)"
                            : "the source could not prove it holds this lmigd's pre-shared key"));
  std::string subject;
  if (id) {
    Bytes before = init;
    before.insert(before.end(), reply.begin(), reply.end());
    auto who = id->verify_peer(shown.chain,
                               to_sign(kDiallerSigns, before,
                                       Bytes(fin.begin(), fin.begin() +
                                                              static_cast<long>(shown.signed_end))),
                               shown.sig, PeerEnd::source, "");
    if (!who.ok()) {
      // The dialler holds the keys by now and reads only sealed frames: the
      // refusal goes sealed.
      c.set_crypto(keys_for(s, false, cleartext, false).crypto);
      return fail(std::move(who).error());
    }
    subject = std::move(who).value();
  }
  HandshakeResult out = keys_for(s, false, cleartext, !key->empty() || id);
  out.role = static_cast<wire::Role>(role);
  out.session = session;
  out.peer_subject = std::move(subject);
  return out;
}

} // namespace lmig

// The handshake that opens every TCP connection of lmig, before any lmig
// message: an ephemeral X25519 exchange mixed with a key both ends must
// prove they hold (HKDF over SHA-256, HMAC over the transcript, checked in
// constant time), fresh nonces from each end (a recorded handshake does not
// replay), and from it a key per direction for the frames
// (frame_cipher.hpp).
//
// The key proved is the pre-shared key on a control connection, and on a
// page channel (demand, push, every reconnect) the secret exported from its
// migration's control handshake: only the source that started a migration
// can open or replace its channels. Without a pre-shared key the control
// handshake is anonymous (the frames are still encrypted, and the channels
// still bound to the session), which only a loopback or --insecure setup
// accepts.
//
// A control connection can also prove X.509 identities (certificates.hpp):
// each end then sends its certificate chain and signs the transcript with
// its key, and the other checks both against its CA. Whatever an end is
// configured with (a pre-shared key, certificates, both) its peer must
// prove.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/base/error.hpp"
#include "transport/secure/certificates.hpp"
#include "transport/secure/frame_cipher.hpp"
#include "transport/tcp_connection.hpp"
#include "transport/wire.hpp"

namespace lmig {

struct HandshakeResult {
  FrameCryptoPtr crypto;   // null when both ends agreed to go without encryption
  Key session_secret{};    // a control connection's, for its migration's channels
  bool authenticated = false; // a key or a certificate was proved (not anonymous)
  std::string peer_subject;    // the peer's certificate subject, when it showed one
  wire::Role role = wire::Role::control;
  uint64_t session = 0;
};

// The dialler's side. key: the pre-shared key (control) or the session
// secret (channels); empty: anonymous. cleartext: ask for no encryption
// (test and benchmark builds only; the listener must allow it too).
// certs: on a control connection, this end's certificate and the name the
// target's must carry.
Result<HandshakeResult> handshake_dial(Connection &c, std::span<const uint8_t> key,
                                       wire::Role role, uint64_t session, bool cleartext,
                                       int timeout_ms, const CertAuth &certs = {});

// What key a dialler of this role and session must prove; an error refuses
// it (with that message, sent back to it).
using KeyLookup =
    std::function<Result<std::vector<uint8_t>>(wire::Role role, uint64_t session, bool has_key)>;

// The listener's side. certs: what a control connection's dialler must
// prove besides the key.
Result<HandshakeResult> handshake_accept(Connection &c, const KeyLookup &key_for,
                                         bool allow_cleartext, int timeout_ms,
                                         const CertAuth &certs = {});

} // namespace lmig

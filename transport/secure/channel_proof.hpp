// Admission of an RDMA page channel, which has no TCP handshake of its own:
// its hello carries a fresh nonce and an HMAC-SHA-256 of the nonce, the
// session and the role under the session secret (from the control
// connection's handshake). The target takes a nonce once per session, so a
// recorded hello does not open a second link.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/error.hpp"
#include "transport/secure/frame_cipher.hpp"
#include "transport/wire.hpp"

namespace lmig {

std::string make_channel_proof(const Key &secret, uint64_t session, wire::Role role);
// Checks a proof; on success `nonce` is the nonce it used (for the replay
// check).
Status check_channel_proof(const std::string &proof, const Key &secret, uint64_t session,
                           wire::Role role, std::string &nonce);

} // namespace lmig

// Both ends of a handshake over a socket pair, for the tests of the secure
// layer.
#pragma once

#include <sys/socket.h>

#include <future>
#include <string>
#include <vector>

#include "transport/secure/handshake.hpp"
#include "transport/tcp_connection.hpp"

namespace lmig::test {

struct Pair {
  Connection dialler, listener;
  Pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
      dialler = Connection::adopt(UniqueFd(sv[0]), "listener");
      listener = Connection::adopt(UniqueFd(sv[1]), "dialler");
    }
  }
};

using Bytes = std::vector<uint8_t>;
inline Bytes bytes(const std::string &s) { return Bytes(s.begin(), s.end()); }

struct Outcome {
  Result<HandshakeResult> dialled = make_error(LMIG_ERR_INTERNAL, "not run");
  Result<HandshakeResult> accepted = make_error(LMIG_ERR_INTERNAL, "not run");
};

inline Outcome shake(Pair &p, const Bytes &dial_key, const KeyLookup &lookup,
                     wire::Role role = wire::Role::control, uint64_t session = 0,
                     const CertAuth &dial_certs = {}, const CertAuth &accept_certs = {}) {
  Outcome o;
  auto f = std::async(std::launch::async, [&] {
    return handshake_accept(p.listener, lookup, false, 5000, accept_certs);
  });
  o.dialled = handshake_dial(p.dialler, dial_key, role, session, false, 5000, dial_certs);
  o.accepted = f.get();
  return o;
}

inline KeyLookup fixed(const Bytes &key) {
  return [key](wire::Role, uint64_t, bool) { return Result<Bytes>(key); };
}

} // namespace lmig::test

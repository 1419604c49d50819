// Asks the kernel (NETLINK_SOCK_DIAG) about one unix socket of this network
// namespace: its type, state, bound name and peer, which /proc does not show.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/error.hpp"

namespace lmig {

struct UnixDiag {
  uint8_t type = 0;      // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
  uint8_t state = 0;     // TCP_ESTABLISHED (1), TCP_CLOSE (7), TCP_LISTEN (10)
  uint64_t peer_ino = 0; // 0: no peer
  std::string name;      // bound address ("" unbound; "\0..." abstract)
  uint8_t shutdown = 0;  // RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2
};

// ENOENT (sys_errno) when no such socket exists in our network namespace.
Result<UnixDiag> unix_diag(uint64_t ino);

} // namespace lmig

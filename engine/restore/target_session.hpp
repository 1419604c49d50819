// The target side of one migration over one connection: handshake, image,
// restore, pages, switchover. Any failure before the process runs tears the
// half-restored process down and tells the source why.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/base/unique_fd.hpp"
#include "engine/restore/session_registry.hpp"
#include "transport/secure/certificates.hpp"
#include "transport/tcp_connection.hpp"
#include "transport/wire.hpp"

namespace lmig {

struct SessionOptions {
  std::vector<uint8_t> psk;      // the pre-shared key sources must prove; empty: anonymous
  CertAuth certs;                // this host's certificate; sources must show one its CA signed
  bool allow_cleartext = false;  // test and benchmark builds: frames may go unencrypted
  int io_timeout_ms = 30000;
  int reconnect_timeout_ms = 10000;
  bool rdma = false; // an RDMA listener takes this server's post-copy channels
  // Where restored processes go: their source's cgroup v2 path under this
  // directory (empty: they stay in lmigd's cgroup), made when it is missing
  // if cgroup_create.
  std::string cgroup_root;
  bool cgroup_create = false;
};

struct SessionOutcome {
  pid_t pid = -1;   // in our PID namespace
  pid_t vpid = -1;  // as the process sees itself
  pid_t init_pid = -1;
  UniqueFd init_pidfd; // the namespace's init: readable when the process has gone
  std::string comm;
};

// Checks a connection's hello (version, CPU state, mode).
Status check_hello(const wire::Hello &h);
wire::Hello target_hello();

// Serves one migration whose control connection said `hello`; its
// channels must prove `secret` (from that connection's handshake).
Result<SessionOutcome> serve_migration(Connection &conn, const wire::Hello &hello,
                                       const SessionOptions &opts, SessionRegistry &registry,
                                       const Key &secret);

} // namespace lmig

// The source side of one migration, from the PID to a running process on
// the target: precheck, connect and handshake (before the process is
// touched), freeze, capture, send the image and the pages, switch over,
// and release the source. Before the switchover every failure resumes the
// source process untouched.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/base/error.hpp"
#include "lmig/lmig.h"
#include "transport/secure/certificates.hpp"

namespace lmig {

struct MigrateOptions {
  lmig_mode mode = LMIG_MODE_STOP_COPY;
  std::string destination;
  int connect_timeout_ms = 5000;
  int io_timeout_ms = 30000;
  int reconnect_timeout_ms = 10000;
  lmig_transport transport = LMIG_TRANSPORT_TCP;
  std::vector<uint8_t> psk; // the key the target must prove; empty: none
  CertAuth certs;           // this host's certificate; the target must show one its CA signed
                            // (peer_name empty: the destination's host)
  bool insecure = false;     // a target that proves no key is taken beyond loopback
  bool cleartext = false;    // test and benchmark builds: frames go unencrypted
  lmig_progress_fn progress = nullptr;
  void *progress_user = nullptr;
  // Inside the migration worker: progress goes to `report` instead, and
  // `caller_gone` says the caller has died (before the switchover the
  // migration is then called off and the source resumes).
  std::function<void(lmig_phase, uint64_t done, uint64_t total)> report;
  std::function<bool()> caller_gone;
};

Status migrate_process(pid_t pid, const MigrateOptions &opts, lmig_stats &stats);

} // namespace lmig

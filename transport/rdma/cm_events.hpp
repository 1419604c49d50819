// Waiting for rdma_cm events with a deadline: connection set-up (address
// and route resolution, connect, accept) and the one event that matters
// afterwards, the peer's disconnect.
#pragma once

#include <string>

#include "engine/base/error.hpp"
#include "transport/rdma/verbs_raii.hpp"

namespace lmig::rdma {

// A new event channel whose fd never blocks (waits go through poll()).
Result<EventChannel> make_event_channel();

// The next event on `ch` within timeout_ms (-1: no limit). `what` names the
// step in errors ("connect to 10.0.0.2:7000").
Result<CmEvent> next_cm_event(rdma_event_channel *ch, int timeout_ms, const std::string &what);

// The next event, which must be `want`; a reject, an unreachable peer or
// anything else becomes an error that says so.
Result<CmEvent> expect_cm_event(rdma_event_channel *ch, rdma_cm_event_type want, int timeout_ms,
                                const std::string &what);

Status set_nonblocking(int fd, const std::string &what);

} // namespace lmig::rdma

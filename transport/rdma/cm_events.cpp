#include "transport/rdma/cm_events.hpp"

#include <fcntl.h>
#include <poll.h>

#include "engine/base/clock.hpp"

namespace lmig::rdma {

Status set_nonblocking(int fd, const std::string &what) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return sys_error(what + ": O_NONBLOCK");
  return {};
}

Result<EventChannel> make_event_channel() {
  EventChannel ch(rdma_create_event_channel());
  if (!ch)
    return sys_error("rdma_create_event_channel (is there an RDMA device, and rdma_ucm?)");
  LMIG_TRY(set_nonblocking(ch->fd, "rdma event channel"));
  return ch;
}

Result<CmEvent> next_cm_event(rdma_event_channel *ch, int timeout_ms, const std::string &what) {
  uint64_t deadline = timeout_ms < 0 ? 0 : now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000;
  for (;;) {
    rdma_cm_event *e = nullptr;
    if (rdma_get_cm_event(ch, &e) == 0)
      return CmEvent(e);
    if (errno != EAGAIN && errno != EINTR)
      return sys_error(what + ": rdma_get_cm_event");
    int wait = -1;
    if (timeout_ms >= 0) {
      uint64_t now = now_ns();
      if (now >= deadline)
        return make_error(LMIG_ERR_TIMEOUT, what + ": no answer within " +
                                                std::to_string(timeout_ms) + " ms");
      wait = static_cast<int>((deadline - now + 999999) / 1000000);
    }
    pollfd p{ch->fd, POLLIN, 0};
    if (::poll(&p, 1, wait) < 0 && errno != EINTR)
      return sys_error(what + ": poll");
  }
}

Result<CmEvent> expect_cm_event(rdma_event_channel *ch, rdma_cm_event_type want, int timeout_ms,
                                const std::string &what) {
  LMIG_ASSIGN_OR_RETURN(CmEvent e, next_cm_event(ch, timeout_ms, what));
  if (e->event == want && e->status == 0)
    return e;
  std::string got = rdma_event_str(e->event);
  switch (e->event) {
  case RDMA_CM_EVENT_REJECTED:
    return make_error(LMIG_ERR_CONNECT, what + ": the peer refused the connection (status " +
                                            std::to_string(e->status) + ")");
  case RDMA_CM_EVENT_ADDR_ERROR:
  case RDMA_CM_EVENT_ROUTE_ERROR:
  case RDMA_CM_EVENT_UNREACHABLE:
  case RDMA_CM_EVENT_CONNECT_ERROR:
    return make_error(LMIG_ERR_CONNECT,
                      what + ": " + got + " (" + std::to_string(e->status) +
                          "; no RDMA device with a route to that address?)",
                      e->status < 0 ? -e->status : 0);
  case RDMA_CM_EVENT_DISCONNECTED:
  case RDMA_CM_EVENT_DEVICE_REMOVAL:
    return make_error(LMIG_ERR_CONNECTION_LOST, what + ": " + got);
  default:
    return make_error(LMIG_ERR_PROTOCOL, what + ": " + got + " (status " +
                                             std::to_string(e->status) + ") instead of " +
                                             rdma_event_str(want));
  }
}

} // namespace lmig::rdma

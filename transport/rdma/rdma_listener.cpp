#include "transport/rdma/rdma_listener.hpp"

#include <arpa/inet.h>

#include "engine/base/clock.hpp"
#include "transport/rdma/cm_events.hpp"
#include "transport/rdma/rdma_address.hpp"

namespace lmig::rdma {

ConnectRequest::~ConnectRequest() {
  if (id_)
    rdma_reject(id_.get(), nullptr, 0);
  // id_ goes before channel_ (declared after it).
}

Result<RdmaListener> RdmaListener::bind(const Endpoint &ep) {
  RdmaListener l;
  l.name_ = ep.str();
  LMIG_ASSIGN_OR_RETURN(ResolvedAddress addr, cm_address(ep, true));
  LMIG_ASSIGN_OR_RETURN(l.channel_, make_event_channel());
  rdma_cm_id *id = nullptr;
  if (rdma_create_id(l.channel_.get(), &id, nullptr, RDMA_PS_TCP) != 0)
    return sys_error("rdma_create_id");
  l.id_.reset(id);
  if (rdma_bind_addr(id, reinterpret_cast<sockaddr *>(&addr.addr)) != 0)
    return sys_error("rdma listen on " + l.name_ + ": rdma_bind_addr (no RDMA device owns that "
                     "address?)");
  if (rdma_listen(id, 16) != 0)
    return sys_error("rdma listen on " + l.name_ + ": rdma_listen");
  l.port_ = ntohs(rdma_get_src_port(id));
  return l;
}

Result<ConnectRequest> RdmaListener::next_request(int timeout_ms) {
  uint64_t deadline = timeout_ms < 0 ? 0 : now_ns() + uint64_t(timeout_ms) * 1000000;
  for (;;) {
    int left = -1;
    if (timeout_ms >= 0) {
      uint64_t now = now_ns();
      left = now >= deadline ? 0 : static_cast<int>((deadline - now) / 1000000);
    }
    LMIG_ASSIGN_OR_RETURN(CmEvent e, next_cm_event(channel_.get(), left, "rdma listen on " + name_));
    if (e->event != RDMA_CM_EVENT_CONNECT_REQUEST)
      continue; // nothing else concerns the listening id
    ConnectRequest req;
    req.id_.reset(e->id);
    req.peer_name_ = address_str(rdma_get_peer_addr(e->id));
    auto params = decode_link_params(
        {static_cast<const uint8_t *>(e->param.conn.private_data), e->param.conn.private_data_len});
    e.reset(); // the id can be moved to its own channel only once its events are acknowledged
    if (!params.ok())
      continue; // req's destructor rejects it
    req.peer_ = params.value();
    LMIG_ASSIGN_OR_RETURN(req.channel_, make_event_channel());
    if (rdma_migrate_id(req.id_.get(), req.channel_.get()) != 0)
      return sys_error("rdma_migrate_id");
    return req;
  }
}

} // namespace lmig::rdma

// The accepting side of RDMA links (the target, like lmigd's TCP listener):
// rdma_cm listens on HOST:PORT; each connect request arrives with the
// peer's LinkParams (its role says whether it is a demand or a bulk link),
// so the caller can pick the link's configuration before accepting it.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/error.hpp"
#include "transport/address.hpp"
#include "transport/rdma/rdma_messages.hpp"
#include "transport/rdma/verbs_raii.hpp"

namespace lmig::rdma {

// A connect request not yet answered: RdmaLink::accept takes it; dropped
// unanswered, it is rejected.
class ConnectRequest {
public:
  ConnectRequest() = default;
  ConnectRequest(ConnectRequest &&) noexcept = default;
  ConnectRequest &operator=(ConnectRequest &&) noexcept = default;
  ~ConnectRequest();

  const LinkParams &peer_params() const { return peer_; }
  const std::string &peer() const { return peer_name_; }

private:
  friend class RdmaListener;
  friend class RdmaLink;
  EventChannel channel_; // the request's id moves here: its events are its own
  CmId id_;
  LinkParams peer_{};
  std::string peer_name_;
};

class RdmaListener {
public:
  // HOST:PORT as for TCP; port 0 picks one (see port()).
  static Result<RdmaListener> bind(const Endpoint &ep);
  // The next connect request within timeout_ms (-1: no limit). Requests
  // from peers that are not lmig are rejected and skipped.
  Result<ConnectRequest> next_request(int timeout_ms);
  uint16_t port() const { return port_; }
  int fd() const { return channel_ ? channel_->fd : -1; } // readable when a request waits

private:
  EventChannel channel_;
  CmId id_;
  uint16_t port_ = 0;
  std::string name_;
};

} // namespace lmig::rdma

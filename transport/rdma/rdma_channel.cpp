#include "transport/rdma/rdma_channel.hpp"

#include <infiniband/verbs.h>

namespace lmig::rdma {

Result<Channel::PageBuffer> RdmaChannel::acquire() {
  LMIG_ASSIGN_OR_RETURN(auto s, link_->acquire());
  return PageBuffer{s.index, s.data};
}

InMessage RdmaChannel::keep(Incoming in) {
  uint64_t token = next_token_++;
  auto &kept = out_.emplace(token, std::move(in)).first->second;
  InMessage m;
  m.type = kept.type;
  m.pages = kept.pages;
  m.checksum_ok = kept.checksum_ok;
  m.payload = kept.payload();
  m.token = token;
  return m;
}

Result<std::optional<InMessage>> RdmaChannel::poll() {
  LMIG_ASSIGN_OR_RETURN(auto in, link_->poll());
  if (!in)
    return std::optional<InMessage>{};
  return std::optional<InMessage>{keep(std::move(*in))};
}

Result<InMessage> RdmaChannel::next(int timeout_ms) {
  LMIG_ASSIGN_OR_RETURN(auto in, link_->next(timeout_ms));
  return keep(std::move(in));
}

void RdmaChannel::release(const InMessage &m) {
  auto it = out_.find(m.token);
  if (it == out_.end())
    return;
  (void)link_->release(it->second); // a failed link reports itself on its next use
  out_.erase(it);
}

bool rdma_usable(std::string *why) {
  int n = 0;
  ibv_device **list = ibv_get_device_list(&n);
  if (list)
    ibv_free_device_list(list);
  if (n <= 0) {
    if (why)
      *why = "no RDMA device on this host";
    return false;
  }
  if (ibv_is_fork_initialized() != IBV_FORK_UNNEEDED) {
    if (why)
      *why = "fork() is not safe with registered memory here (kernel or rdma-core too old)";
    return false;
  }
  return true;
}

} // namespace lmig::rdma

// Everything one RDMA link registers with the device, created once when the
// link is set up and never per page: a protection domain, one completion
// queue (with its completion channel, for sleeping) shared by the link's
// sends and receives, the RC queue pair, and four memory regions:
//   - the slot ring the peer writes pages into (remote write);
//   - the staging buffers this side writes pages from;
//   - the receive buffers for the peer's SENDs (all kept posted);
//   - the send buffers for SENDs too large to inline.
// Demand and bulk traffic use a link each, so their queues never mix.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/base/error.hpp"
#include "engine/base/mapping.hpp"
#include "transport/rdma/rdma_messages.hpp"
#include "transport/rdma/verbs_raii.hpp"

namespace lmig::rdma {

struct LinkConfig {
  uint32_t slot_count = 0;     // page slots the peer may write into (0: receives no pages)
  uint32_t slot_pages = 32;    // pages per slot: the largest run received
  uint32_t staging_count = 0;  // buffers pages are written from (0: sends no pages)
  uint32_t staging_pages = 32; // pages per staging buffer: the largest run sent
  uint32_t recv_count = 32;    // receives kept posted: the peer's SEND/write credits
  uint32_t recv_bytes = 8192;  // largest SEND accepted (bigger messages are fragmented)
  uint32_t send_buffers = 8;   // SENDs in flight that are too large to inline
  uint64_t spin_ns = 50000;    // busy-poll this long before sleeping on the channel
  wire::Role role = wire::Role::control; // connector: what the link is for
  uint64_t session = 0;        // connector: the migration it belongs to

  // The links of a post-copy migration. Demand: small rings, fault-around
  // runs of up to 64 pages. Bulk: a deep ring of push runs.
  static LinkConfig demand_target();
  static LinkConfig demand_source();
  static LinkConfig bulk_target();
  static LinkConfig bulk_source();
};

class LinkResources {
public:
  static Result<std::unique_ptr<LinkResources>> create(rdma_cm_id *id, const LinkConfig &cfg);

  // This side's half of the set-up, for the peer.
  LinkParams params(const LinkConfig &cfg) const;
  Status post_recv(uint32_t index);

  ibv_qp *qp() const { return qp_.get(); }
  ibv_cq *cq() const { return cq_.get(); }
  CompletionQueue &cq_owner() { return cq_; }
  ibv_comp_channel *channel() const { return channel_.get(); }
  uint32_t sq_depth() const { return sq_depth_; }
  uint32_t max_inline() const { return max_inline_; }

  uint8_t *slots() const { return slots_mem_.bytes(); }
  uint8_t *staging() const { return staging_mem_.bytes(); }
  uint32_t staging_lkey() const { return staging_mr_ ? staging_mr_->lkey : 0; }
  uint8_t *recv_buf(uint32_t i) const { return recv_mem_.bytes() + static_cast<size_t>(i) * recv_bytes_; }
  uint8_t *send_buf(uint32_t i) const { return send_mem_.bytes() + static_cast<size_t>(i) * send_bytes_; }
  uint32_t send_lkey() const { return send_mr_->lkey; }
  uint32_t send_bytes() const { return send_bytes_; }

private:
  LinkResources() = default;
  Result<MemoryRegion> map_and_register(Mapping &mem, size_t bytes, int access, const char *what);

  // Declared in the order that lets each be destroyed after what depends on it.
  Mapping slots_mem_, staging_mem_, recv_mem_, send_mem_;
  ProtectionDomain pd_;
  CompletionChannel channel_;
  CompletionQueue cq_;
  CmQueuePair qp_;
  MemoryRegion slots_mr_, staging_mr_, recv_mr_, send_mr_;
  uint32_t recv_bytes_ = 0, send_bytes_ = 0, sq_depth_ = 0, max_inline_ = 0;
};

} // namespace lmig::rdma

// One RDMA link: a reliable-connected queue pair carrying lmig's messages
// (the same as wire.hpp's frames) between two peers.
//   - lmig messages (hello, page requests, done, error, ...) travel as SENDs
//     into the peer's posted receives, fragmented when longer than one
//     receive buffer;
//   - page runs travel as RDMA_WRITE_WITH_IMM from one of this side's
//     registered staging buffers straight into the next free slot of the
//     peer's registered ring (header and pages in one write; the immediate
//     names the slot), and surface on the peer as a pages Frame that points
//     into the slot until released;
//   - credits (receives posted again, slots released) ride in every SEND
//     and slot header, or in a bare credit SEND when nothing else goes out:
//     no SEND finds the peer without a receive, no write overwrites a slot
//     whose pages were not yet taken.
// Waiting spins on the completion queue for LinkConfig::spin_ns, then
// sleeps on the completion channel (and the rdma_cm channel, which reports a
// peer that went away). A link is driven by one thread at a time; a
// migration uses two (demand and bulk), each with its own QP and CQ.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/base/error.hpp"
#include "transport/address.hpp"
#include "transport/rdma/flow_control.hpp"
#include "transport/rdma/link_resources.hpp"
#include "transport/rdma/rdma_listener.hpp"
#include "transport/rdma/rdma_messages.hpp"
#include "transport/wire.hpp"

namespace lmig::rdma {

// A received message. Pages point into a slot of the ring until release();
// other messages own their payload.
struct Incoming {
  wire::Type type = wire::Type::error;
  wire::PagesHeader pages{};    // type == pages
  bool checksum_ok = true;      // pages: the data matches pages.xxh3
  int32_t slot = -1;            // pages: the slot to release
  const uint8_t *data = nullptr; // pages: npages * 4096 bytes in the slot
  std::vector<uint8_t> owned;   // other messages: the payload

  std::span<const uint8_t> payload() const {
    if (slot >= 0)
      return {data, static_cast<size_t>(pages.npages) * kPageSize};
    return owned;
  }
};

struct LinkStats {
  uint64_t sends = 0, credit_sends = 0, writes = 0, recvs = 0;
  uint64_t sleeps = 0;          // waits that went to the completion channel
  uint64_t waits_for_slots = 0; // writes that found the peer's ring full
};

class RdmaLink {
public:
  // The connecting side (the source): resolves HOST:PORT through rdma_cm.
  static Result<std::unique_ptr<RdmaLink>> connect(const Endpoint &ep, const LinkConfig &cfg,
                                                   int timeout_ms);
  // The accepting side (the target).
  static Result<std::unique_ptr<RdmaLink>> accept(ConnectRequest req, const LinkConfig &cfg,
                                                  int timeout_ms);
  ~RdmaLink();
  RdmaLink(const RdmaLink &) = delete;
  RdmaLink &operator=(const RdmaLink &) = delete;

  void set_io_timeout(int ms) { io_timeout_ms_ = ms; }
  // How long a wait busy-polls before it sleeps (LinkConfig::spin_ns); may
  // be changed from any thread.
  void set_spin_ns(uint64_t ns) { spin_ns_.store(ns, std::memory_order_relaxed); }
  const std::string &peer() const { return peer_; }
  const LinkParams &peer_params() const { return peer_params_; }
  const LinkStats &stats() const { return stats_; }

  // An lmig message (not pages) as one or more SENDs.
  Status send(wire::Type type, std::span<const uint8_t> payload = {});

  // Pages: take a staging buffer, fill its data (up to max_pages() pages),
  // send it with its header (xxh3 already computed by the caller, as for
  // UringSender). The buffer returns to the pool when the write completes.
  struct Staging {
    int32_t index = -1;
    uint8_t *data = nullptr;
  };
  Result<Staging> acquire();
  Status send_pages(const Staging &s, const wire::PagesHeader &h);
  // The largest run one write can carry: the smaller of this side's staging
  // buffers and the peer's slots (0: one of them has none).
  uint32_t max_pages() const;
  // Waits until every write and SEND posted so far has completed.
  Status flush();

  // The next message within timeout_ms (-1: no limit; LMIG_ERR_TIMEOUT).
  Result<Incoming> next(int timeout_ms);
  // Without waiting: a message if one is here.
  Result<std::optional<Incoming>> poll();
  // The consumer has installed the pages of `m` (no-op for other messages).
  Status release(const Incoming &m);

  // Ends the link from any thread (its waits fail: the peer went away).
  void shut_down();
  // For an event loop: the completion channel's fd, readable after arm()
  // once a completion arrives. arm() returns false when something is
  // already waiting (poll() it instead of sleeping). After the fd is
  // readable, call poll(): it consumes the channel's event.
  int event_fd() const;
  Result<bool> arm();

private:
  RdmaLink() = default;
  static Result<std::unique_ptr<RdmaLink>> build(EventChannel ch, CmId id, const LinkConfig &cfg,
                                                 std::string peer);
  Status established(const LinkParams &peer);
  Status fail(Error e);
  Status progress();
  Status handle(const ibv_wc &wc);
  Status on_send_arrived(uint32_t index, uint32_t byte_len);
  Status on_write_arrived(uint32_t slot, uint32_t byte_len);
  Status apply_peer_counters(uint64_t recvs_reposted, uint64_t slots_released);
  Status maybe_return_credits();
  Status post_send(uint16_t type, std::span<const uint8_t> part, uint32_t total, bool more);
  template <typename Pred> Status wait_until(Pred pred, int timeout_ms, const char *what);
  // Sleeps until a completion or a cm event arrives: true if one did.
  Result<bool> sleep_once(int timeout_ms);
  Status check_cm_events();
  Status drain_channel();
  Incoming pop();

  // Destroyed in reverse: resources (QP, CQ, MRs) before the id, the id
  // before its channel.
  EventChannel cm_channel_;
  CmId id_;
  std::unique_ptr<LinkResources> res_;
  LinkConfig cfg_;
  LinkParams peer_params_{};
  std::string peer_;
  int io_timeout_ms_ = 30000;
  bool connected_ = false;
  std::optional<Error> failed_;

  SlotLayout my_slots_, peer_slots_, staging_;
  SlotRing ring_{0};
  SlotCredits slot_credits_{0};
  RecvCredits recv_credits_{0};
  Reported recvs_reposted_, slots_released_;
  uint32_t sq_used_ = 0;
  std::vector<int32_t> free_staging_, free_send_bufs_;
  Reassembler reasm_;
  std::deque<Incoming> incoming_;
  bool cq_armed_ = false;
  std::atomic<uint64_t> spin_ns_{0};
  LinkStats stats_;
};

} // namespace lmig::rdma

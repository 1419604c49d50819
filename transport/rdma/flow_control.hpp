// The flow-control arithmetic of an RDMA link, kept apart from the device so
// it can be tested anywhere. All counters are cumulative from the
// connection's start and travel in every SEND and slot header, so a lost
// update is repaired by the next one and a stale one is harmless.
//   - SlotRing: the receiver's ring of page slots. Writes arrive in ring
//     order; the consumer may release them in any order; the peer may only
//     reuse the prefix that is released (so a slot is never overwritten
//     before the pages in it were installed).
//   - SlotCredits: the writer's view of the peer's ring: which slot the next
//     write goes to, and whether one is free.
//   - RecvCredits: how many of the peer's posted receives are still unused
//     (every SEND and every RDMA_WRITE_WITH_IMM takes one). The last one is
//     kept for a bare credit return, so two peers that both run dry can
//     always tell each other that receives were posted again.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig::rdma {

class SlotRing {
public:
  explicit SlotRing(uint32_t count) : held_(count, false) {}
  uint32_t count() const { return static_cast<uint32_t>(held_.size()); }
  // A write completed into `slot`: it must be the next one in ring order,
  // and free. Returns its sequence number.
  Result<uint64_t> arrived(uint32_t slot);
  // The consumer is done with `slot`.
  Status release(uint32_t slot);
  uint64_t arrived_count() const { return arrived_; }
  uint64_t released() const { return released_; } // cumulative, in ring order
  uint32_t held() const { return static_cast<uint32_t>(arrived_ - released_) - pending_; }

private:
  std::vector<bool> held_; // arrived and not yet released
  uint64_t arrived_ = 0;
  uint64_t released_ = 0;  // the released prefix
  uint32_t pending_ = 0;   // released out of order, beyond the prefix
};

class SlotCredits {
public:
  explicit SlotCredits(uint32_t count) : count_(count) {}
  bool available() const { return count_ && written_ - released_ < count_; }
  uint32_t next_slot() const { return static_cast<uint32_t>(written_ % count_); }
  uint64_t next_seq() const { return written_; }
  uint32_t in_flight() const { return static_cast<uint32_t>(written_ - released_); }
  void consume() { written_++; }
  // The peer's cumulative release count.
  Status update(uint64_t released);

private:
  uint32_t count_;
  uint64_t written_ = 0;
  uint64_t released_ = 0;
};

class RecvCredits {
public:
  explicit RecvCredits(uint32_t peer_recvs) : peer_recvs_(peer_recvs) {}
  uint32_t available() const { return static_cast<uint32_t>(peer_recvs_ - (sent_ - reposted_)); }
  // A message needs two free receives (one stays for credit returns); a
  // bare credit return needs one.
  bool can_send(bool credit_only) const { return available() >= (credit_only ? 1u : 2u); }
  void consume() { sent_++; }
  // The peer's cumulative count of receives posted again.
  Status update(uint64_t reposted);

private:
  uint64_t peer_recvs_;
  uint64_t sent_ = 0;
  uint64_t reposted_ = 0;
};

// What this side has to tell its peer: a counter and how much of it the peer
// has heard.
struct Reported {
  uint64_t value = 0;
  uint64_t told = 0;
  uint64_t untold() const { return value - told; }
};

} // namespace lmig::rdma

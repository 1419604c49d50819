// Owners for every verbs and rdma_cm object the RDMA transport creates: each
// is released exactly once, by its own destructor. A link declares them in
// the order the verbs API needs them destroyed in reverse (QP before its CQ,
// MRs before their PD and before the memory they cover, everything verbs
// before the rdma_cm id, the id before its event channel).
#pragma once

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <memory>
#include <utility>

namespace lmig::rdma {

namespace detail {
struct EventChannelFree {
  void operator()(rdma_event_channel *c) const { rdma_destroy_event_channel(c); }
};
struct CmIdFree {
  void operator()(rdma_cm_id *id) const { rdma_destroy_id(id); }
};
struct PdFree {
  void operator()(ibv_pd *pd) const { ibv_dealloc_pd(pd); }
};
struct CompChannelFree {
  void operator()(ibv_comp_channel *c) const { ibv_destroy_comp_channel(c); }
};
struct MrFree {
  void operator()(ibv_mr *mr) const { ibv_dereg_mr(mr); }
};
} // namespace detail

using EventChannel = std::unique_ptr<rdma_event_channel, detail::EventChannelFree>;
using CmId = std::unique_ptr<rdma_cm_id, detail::CmIdFree>;
using ProtectionDomain = std::unique_ptr<ibv_pd, detail::PdFree>;
using CompletionChannel = std::unique_ptr<ibv_comp_channel, detail::CompChannelFree>;
using MemoryRegion = std::unique_ptr<ibv_mr, detail::MrFree>;

// A CQ remembers how many completion events it handed out: every event must
// be acknowledged before ibv_destroy_cq, or the destroy blocks for ever.
class CompletionQueue {
public:
  CompletionQueue() = default;
  explicit CompletionQueue(ibv_cq *cq) : cq_(cq) {}
  CompletionQueue(const CompletionQueue &) = delete;
  CompletionQueue &operator=(const CompletionQueue &) = delete;
  CompletionQueue(CompletionQueue &&o) noexcept
      : cq_(std::exchange(o.cq_, nullptr)), unacked_(std::exchange(o.unacked_, 0)) {}
  CompletionQueue &operator=(CompletionQueue &&o) noexcept {
    if (this != &o) {
      reset();
      cq_ = std::exchange(o.cq_, nullptr);
      unacked_ = std::exchange(o.unacked_, 0);
    }
    return *this;
  }
  ~CompletionQueue() { reset(); }

  ibv_cq *get() const { return cq_; }
  // One event taken from the channel; acknowledged in batches (each ack
  // takes a lock in libibverbs).
  void event_taken() {
    if (++unacked_ >= 64)
      ack();
  }
  void ack() {
    if (cq_ && unacked_)
      ibv_ack_cq_events(cq_, unacked_);
    unacked_ = 0;
  }
  void reset() {
    if (cq_) {
      ack();
      ibv_destroy_cq(cq_);
    }
    cq_ = nullptr;
  }

private:
  ibv_cq *cq_ = nullptr;
  unsigned unacked_ = 0;
};

// The QP of an rdma_cm id (rdma_create_qp): destroyed through the id, which
// must outlive it.
class CmQueuePair {
public:
  CmQueuePair() = default;
  explicit CmQueuePair(rdma_cm_id *id) : id_(id) {}
  CmQueuePair(const CmQueuePair &) = delete;
  CmQueuePair &operator=(const CmQueuePair &) = delete;
  CmQueuePair(CmQueuePair &&o) noexcept : id_(std::exchange(o.id_, nullptr)) {}
  CmQueuePair &operator=(CmQueuePair &&o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, nullptr);
    }
    return *this;
  }
  ~CmQueuePair() { reset(); }

  ibv_qp *get() const { return id_ ? id_->qp : nullptr; }
  void reset() {
    if (id_ && id_->qp)
      rdma_destroy_qp(id_);
    id_ = nullptr;
  }

private:
  rdma_cm_id *id_ = nullptr;
};

// An rdma_cm event, acknowledged when it goes out of scope (its private
// data lives until then).
class CmEvent {
public:
  CmEvent() = default;
  explicit CmEvent(rdma_cm_event *e) : e_(e) {}
  CmEvent(const CmEvent &) = delete;
  CmEvent &operator=(const CmEvent &) = delete;
  CmEvent(CmEvent &&o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  CmEvent &operator=(CmEvent &&o) noexcept {
    if (this != &o) {
      reset();
      e_ = std::exchange(o.e_, nullptr);
    }
    return *this;
  }
  ~CmEvent() { reset(); }
  rdma_cm_event *operator->() const { return e_; }
  rdma_cm_event *get() const { return e_; }
  void reset() {
    if (e_)
      rdma_ack_cm_event(e_);
    e_ = nullptr;
  }

private:
  rdma_cm_event *e_ = nullptr;
};

} // namespace lmig::rdma

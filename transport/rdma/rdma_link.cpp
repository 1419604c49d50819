#include "transport/rdma/rdma_link.hpp"

#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <cstring>

#include "engine/base/clock.hpp"
#include "transport/rdma/cm_events.hpp"
#include "transport/rdma/rdma_address.hpp"

namespace lmig::rdma {

namespace {
// Work request ids: the kind in the top byte, a buffer index below.
enum : uint64_t { kWrInline = 1, kWrSendBuf = 2, kWrWrite = 3 };
uint64_t wr_id(uint64_t kind, uint32_t index) { return kind << 56 | index; }
uint64_t wr_kind(uint64_t id) { return id >> 56; }
uint32_t wr_index(uint64_t id) { return static_cast<uint32_t>(id & 0xffffffffu); }

const char *wr_what(const ibv_wc &wc) {
  switch (wr_kind(wc.wr_id)) {
  case kWrInline:
  case kWrSendBuf: return "SEND";
  case kWrWrite: return "page write";
  default: return "receive";
  }
}

int ms_left(uint64_t deadline) {
  uint64_t now = now_ns();
  return now >= deadline ? 0 : static_cast<int>((deadline - now + 999999) / 1000000);
}
} // namespace

Result<std::unique_ptr<RdmaLink>> RdmaLink::build(EventChannel ch, CmId id, const LinkConfig &cfg,
                                                  std::string peer) {
  std::unique_ptr<RdmaLink> l(new RdmaLink());
  l->cm_channel_ = std::move(ch);
  l->id_ = std::move(id);
  l->cfg_ = cfg;
  l->spin_ns_ = cfg.spin_ns;
  l->peer_ = std::move(peer);
  auto res = LinkResources::create(l->id_.get(), cfg);
  if (!res.ok())
    return std::move(res.error().context("rdma link to " + l->peer_));
  l->res_ = std::move(res.value());
  l->my_slots_ = SlotLayout{cfg.slot_pages};
  l->staging_ = SlotLayout{cfg.staging_pages};
  for (uint32_t i = cfg.staging_count; i-- > 0;)
    l->free_staging_.push_back(static_cast<int32_t>(i));
  for (uint32_t i = cfg.send_buffers; i-- > 0;)
    l->free_send_bufs_.push_back(static_cast<int32_t>(i));
  return l;
}

Result<std::unique_ptr<RdmaLink>> RdmaLink::connect(const Endpoint &ep, const LinkConfig &cfg,
                                                    int timeout_ms) {
  std::string what = "rdma connect to " + ep.str();
  LMIG_ASSIGN_OR_RETURN(ResolvedAddress addr, cm_address(ep, false));
  LMIG_ASSIGN_OR_RETURN(EventChannel ch, make_event_channel());
  rdma_cm_id *raw = nullptr;
  if (rdma_create_id(ch.get(), &raw, nullptr, RDMA_PS_TCP) != 0)
    return sys_error(what + ": rdma_create_id");
  CmId id(raw);
  uint64_t deadline = now_ns() + uint64_t(timeout_ms) * 1000000;
  if (rdma_resolve_addr(raw, nullptr, reinterpret_cast<sockaddr *>(&addr.addr), timeout_ms) != 0)
    return sys_error(what + ": rdma_resolve_addr");
  {
    LMIG_ASSIGN_OR_RETURN(CmEvent e, expect_cm_event(ch.get(), RDMA_CM_EVENT_ADDR_RESOLVED,
                                                     ms_left(deadline), what));
  }
  if (rdma_resolve_route(raw, std::max(1, ms_left(deadline))) != 0)
    return sys_error(what + ": rdma_resolve_route");
  {
    LMIG_ASSIGN_OR_RETURN(CmEvent e, expect_cm_event(ch.get(), RDMA_CM_EVENT_ROUTE_RESOLVED,
                                                     ms_left(deadline), what));
  }
  LMIG_ASSIGN_OR_RETURN(auto link, build(std::move(ch), std::move(id), cfg, ep.str()));
  LinkParams mine = link->res_->params(cfg);
  rdma_conn_param cp{};
  cp.private_data = &mine;
  cp.private_data_len = sizeof mine;
  cp.retry_count = 7;
  cp.rnr_retry_count = 7; // credits keep receives posted; this only rides out a slow peer
  if (rdma_connect(raw, &cp) != 0)
    return sys_error(what + ": rdma_connect");
  LMIG_ASSIGN_OR_RETURN(CmEvent e, expect_cm_event(link->cm_channel_.get(),
                                                   RDMA_CM_EVENT_ESTABLISHED, ms_left(deadline),
                                                   what));
  link->connected_ = true;
  LMIG_ASSIGN_OR_RETURN(
      LinkParams peer,
      decode_link_params({static_cast<const uint8_t *>(e->param.conn.private_data),
                          e->param.conn.private_data_len}));
  LMIG_TRY(link->established(peer));
  return link;
}

Result<std::unique_ptr<RdmaLink>> RdmaLink::accept(ConnectRequest req, const LinkConfig &cfg,
                                                   int timeout_ms) {
  std::string what = "rdma accept from " + req.peer_name_;
  rdma_cm_id *raw = req.id_.get();
  LMIG_ASSIGN_OR_RETURN(auto link,
                        build(std::move(req.channel_), std::move(req.id_), cfg, req.peer_name_));
  LinkConfig answer = cfg;
  answer.role = static_cast<wire::Role>(req.peer_.role);
  answer.session = req.peer_.session;
  LinkParams mine = link->res_->params(answer);
  rdma_conn_param cp{};
  cp.private_data = &mine;
  cp.private_data_len = sizeof mine;
  cp.retry_count = 7;
  cp.rnr_retry_count = 7;
  if (rdma_accept(raw, &cp) != 0)
    return sys_error(what + ": rdma_accept");
  LMIG_ASSIGN_OR_RETURN(CmEvent e, expect_cm_event(link->cm_channel_.get(),
                                                   RDMA_CM_EVENT_ESTABLISHED, timeout_ms, what));
  link->connected_ = true;
  LMIG_TRY(link->established(req.peer_));
  return link;
}

Status RdmaLink::established(const LinkParams &peer) {
  peer_params_ = peer;
  peer_slots_ = SlotLayout{peer.slot_pages};
  slot_credits_ = SlotCredits(peer.slot_count);
  recv_credits_ = RecvCredits(peer.recv_count);
  ring_ = SlotRing(cfg_.slot_count);
  return {};
}

RdmaLink::~RdmaLink() {
  if (connected_ && id_)
    rdma_disconnect(id_.get());
}

void RdmaLink::shut_down() {
  if (connected_ && id_)
    rdma_disconnect(id_.get());
}

Status RdmaLink::fail(Error e) {
  if (!failed_)
    failed_ = std::move(e.context("rdma link to " + peer_));
  return *failed_;
}

uint32_t RdmaLink::max_pages() const {
  if (!cfg_.staging_count || !peer_params_.slot_count)
    return 0;
  return std::min(cfg_.staging_pages, peer_params_.slot_pages);
}

// ------------------------------------------------------------- sending ----

Status RdmaLink::post_send(uint16_t type, std::span<const uint8_t> part, uint32_t total, bool more) {
  size_t len = sizeof(SendHeader) + part.size();
  bool inl = len <= res_->max_inline();
  uint8_t inline_buf[256];
  int32_t buf = -1;
  uint8_t *dst = inline_buf;
  if (!inl) {
    buf = free_send_bufs_.back();
    free_send_bufs_.pop_back();
    dst = res_->send_buf(static_cast<uint32_t>(buf));
  }
  SendHeader h = make_send_header(type, static_cast<uint32_t>(part.size()), total, more);
  h.recvs_reposted = recvs_reposted_.told = recvs_reposted_.value;
  h.slots_released = slots_released_.told = slots_released_.value;
  std::memcpy(dst, &h, sizeof h);
  if (!part.empty())
    std::memcpy(dst + sizeof h, part.data(), part.size());

  ibv_sge sge{};
  sge.addr = reinterpret_cast<uintptr_t>(dst);
  sge.length = static_cast<uint32_t>(len);
  sge.lkey = inl ? 0 : res_->send_lkey();
  ibv_send_wr wr{};
  wr.wr_id = inl ? wr_id(kWrInline, 0) : wr_id(kWrSendBuf, static_cast<uint32_t>(buf));
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_SEND;
  wr.send_flags = IBV_SEND_SIGNALED | (inl ? IBV_SEND_INLINE : 0);
  ibv_send_wr *bad = nullptr;
  int rc = ibv_post_send(res_->qp(), &wr, &bad);
  if (rc != 0)
    return fail(sys_error("ibv_post_send (SEND)", rc));
  sq_used_++;
  recv_credits_.consume();
  if (type == kTypeCredit)
    stats_.credit_sends++;
  else
    stats_.sends++;
  return {};
}

Status RdmaLink::send(wire::Type type, std::span<const uint8_t> payload) {
  if (failed_)
    return *failed_;
  if (type == wire::Type::pages)
    return make_error(LMIG_ERR_INTERNAL, "rdma: pages go through send_pages");
  if (payload.size() > wire::kMaxPayload)
    return make_error(LMIG_ERR_INTERNAL, "rdma: message of " + std::to_string(payload.size()) +
                                             " bytes exceeds the protocol's limit");
  uint32_t max_send = std::min(res_->send_bytes(), peer_params_.recv_bytes);
  uint32_t per = fragment_payload(max_send);
  auto total = static_cast<uint32_t>(payload.size());
  uint32_t off = 0;
  do {
    uint32_t n = std::min(per, total - off);
    bool inl = sizeof(SendHeader) + n <= res_->max_inline();
    LMIG_TRY(wait_until(
        [&] {
          return recv_credits_.can_send(false) && sq_used_ < res_->sq_depth() &&
                 (inl || !free_send_bufs_.empty());
        },
        io_timeout_ms_, "sending a message"));
    LMIG_TRY(post_send(static_cast<uint16_t>(type), payload.subspan(off, n), total, off + n < total));
    off += n;
  } while (off < total);
  return {};
}

Result<RdmaLink::Staging> RdmaLink::acquire() {
  if (!cfg_.staging_count)
    return make_error(LMIG_ERR_INTERNAL, "rdma: this link has no staging buffers");
  LMIG_TRY(wait_until([&] { return !free_staging_.empty(); }, io_timeout_ms_,
                      "waiting for a staging buffer"));
  Staging s;
  s.index = free_staging_.back();
  free_staging_.pop_back();
  s.data = res_->staging() + staging_.data_offset(static_cast<uint32_t>(s.index));
  return s;
}

Status RdmaLink::send_pages(const Staging &s, const wire::PagesHeader &h) {
  if (failed_)
    return *failed_;
  if (s.index < 0 || static_cast<uint32_t>(s.index) >= cfg_.staging_count)
    return make_error(LMIG_ERR_INTERNAL, "rdma: send_pages without a staging buffer");
  if (h.npages == 0 || h.npages > max_pages())
    return make_error(LMIG_ERR_INTERNAL, "rdma: a run of " + std::to_string(h.npages) +
                                             " pages; this link carries 1 to " +
                                             std::to_string(max_pages()));
  if (!slot_credits_.available())
    stats_.waits_for_slots++;
  LMIG_TRY(wait_until(
      [&] {
        return slot_credits_.available() && recv_credits_.can_send(false) &&
               sq_used_ < res_->sq_depth();
      },
      io_timeout_ms_, "waiting for a free page slot"));
  uint32_t slot = slot_credits_.next_slot();
  SlotHeader sh = make_slot_header(slot_credits_.next_seq(), h);
  sh.recvs_reposted = recvs_reposted_.told = recvs_reposted_.value;
  sh.slots_released = slots_released_.told = slots_released_.value;
  uint8_t *hdr = res_->staging() + staging_.header_offset(static_cast<uint32_t>(s.index));
  std::memcpy(hdr, &sh, sizeof sh);

  ibv_sge sge{};
  sge.addr = reinterpret_cast<uintptr_t>(hdr);
  sge.length = SlotLayout::write_length(h.npages);
  sge.lkey = res_->staging_lkey();
  ibv_send_wr wr{};
  wr.wr_id = wr_id(kWrWrite, static_cast<uint32_t>(s.index));
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
  wr.send_flags = IBV_SEND_SIGNALED;
  wr.imm_data = htonl(slot);
  wr.wr.rdma.remote_addr = peer_params_.slot_base + peer_slots_.header_offset(slot);
  wr.wr.rdma.rkey = peer_params_.slot_rkey;
  ibv_send_wr *bad = nullptr;
  int rc = ibv_post_send(res_->qp(), &wr, &bad);
  if (rc != 0)
    return fail(sys_error("ibv_post_send (RDMA_WRITE_WITH_IMM)", rc));
  sq_used_++;
  slot_credits_.consume();
  recv_credits_.consume();
  stats_.writes++;
  return {};
}

Status RdmaLink::flush() {
  return wait_until([&] { return sq_used_ == 0; }, io_timeout_ms_, "flushing");
}

Status RdmaLink::maybe_return_credits() {
  if (!connected_ || failed_)
    return {};
  bool recvs = recvs_reposted_.untold() >= std::max(1u, cfg_.recv_count / 2);
  bool slots = cfg_.slot_count && slots_released_.untold() >= std::max(1u, cfg_.slot_count / 4);
  if (!recvs && !slots)
    return {};
  // No room now: a later completion brings us back here.
  bool inl = sizeof(SendHeader) <= res_->max_inline();
  if (!recv_credits_.can_send(true) || sq_used_ >= res_->sq_depth() ||
      (!inl && free_send_bufs_.empty()))
    return {};
  return post_send(kTypeCredit, {}, 0, false);
}

// ----------------------------------------------------------- receiving ----

Status RdmaLink::apply_peer_counters(uint64_t recvs_reposted, uint64_t slots_released) {
  if (auto st = recv_credits_.update(recvs_reposted); !st.ok())
    return fail(std::move(st.error()));
  if (auto st = slot_credits_.update(slots_released); !st.ok())
    return fail(std::move(st.error()));
  return {};
}

Status RdmaLink::on_send_arrived(uint32_t index, uint32_t byte_len) {
  std::span<const uint8_t> got(res_->recv_buf(index), byte_len);
  auto h = decode_send_header(got);
  if (!h.ok())
    return fail(std::move(h.error()));
  LMIG_TRY(apply_peer_counters(h->recvs_reposted, h->slots_released));
  if (h->type == static_cast<uint16_t>(wire::Type::pages))
    return fail(make_error(LMIG_ERR_PROTOCOL, "pages arrived as a SEND"));
  if (h->type != kTypeCredit) {
    auto msg = reasm_.add(h.value(), got.subspan(sizeof(SendHeader)));
    if (!msg.ok())
      return fail(std::move(msg.error()));
    if (msg->has_value()) {
      Incoming m;
      m.type = static_cast<wire::Type>((*msg)->type);
      m.owned = std::move((*msg)->payload);
      incoming_.push_back(std::move(m));
    }
  }
  stats_.recvs++;
  if (auto st = res_->post_recv(index); !st.ok())
    return fail(std::move(st.error()));
  recvs_reposted_.value++;
  return {};
}

Status RdmaLink::on_write_arrived(uint32_t slot, uint32_t byte_len) {
  auto seq = ring_.arrived(slot);
  if (!seq.ok())
    return fail(std::move(seq.error()));
  auto h = decode_slot_header(res_->slots() + my_slots_.header_offset(slot), seq.value(),
                              cfg_.slot_pages, byte_len);
  if (!h.ok())
    return fail(std::move(h.error()));
  LMIG_TRY(apply_peer_counters(h->recvs_reposted, h->slots_released));
  Incoming m;
  m.type = wire::Type::pages;
  m.pages = h->pages;
  m.slot = static_cast<int32_t>(slot);
  m.data = res_->slots() + my_slots_.data_offset(slot);
  incoming_.push_back(std::move(m));
  stats_.recvs++;
  return {};
}

Status RdmaLink::handle(const ibv_wc &wc) {
  if (wc.status != IBV_WC_SUCCESS) {
    connected_ = wc.status != IBV_WC_WR_FLUSH_ERR && connected_;
    return fail(make_error(LMIG_ERR_CONNECTION_LOST,
                           std::string(wr_what(wc)) + " failed: " + ibv_wc_status_str(wc.status) +
                               " (vendor error " + std::to_string(wc.vendor_err) + ")"));
  }
  uint64_t kind = wr_kind(wc.wr_id);
  uint32_t index = wr_index(wc.wr_id);
  switch (wc.opcode) {
  case IBV_WC_RECV:
    return on_send_arrived(index, wc.byte_len);
  case IBV_WC_RECV_RDMA_WITH_IMM: {
    LMIG_TRY(on_write_arrived(ntohl(wc.imm_data), wc.byte_len));
    // The write took a receive but left its buffer untouched.
    if (auto st = res_->post_recv(index); !st.ok())
      return fail(std::move(st.error()));
    recvs_reposted_.value++;
    return {};
  }
  case IBV_WC_SEND:
    sq_used_--;
    if (kind == kWrSendBuf)
      free_send_bufs_.push_back(static_cast<int32_t>(index));
    return {};
  case IBV_WC_RDMA_WRITE:
    sq_used_--;
    free_staging_.push_back(static_cast<int32_t>(index));
    return {};
  default:
    return fail(make_error(LMIG_ERR_INTERNAL,
                           "unexpected completion opcode " + std::to_string(wc.opcode)));
  }
}

Status RdmaLink::progress() {
  if (failed_)
    return *failed_;
  ibv_wc wc[32];
  for (;;) {
    int n = ibv_poll_cq(res_->cq(), 32, wc);
    if (n < 0)
      return fail(sys_error("ibv_poll_cq", -n));
    for (int i = 0; i < n; i++)
      LMIG_TRY(handle(wc[i]));
    if (n < 32)
      break;
  }
  return maybe_return_credits();
}

Status RdmaLink::drain_channel() {
  for (;;) {
    ibv_cq *cq = nullptr;
    void *ctx = nullptr;
    if (ibv_get_cq_event(res_->channel(), &cq, &ctx) != 0) {
      if (errno == EAGAIN || errno == EINTR)
        return {};
      return fail(sys_error("ibv_get_cq_event"));
    }
    res_->cq_owner().event_taken();
    cq_armed_ = false;
  }
}

Status RdmaLink::check_cm_events() {
  for (;;) {
    rdma_cm_event *raw = nullptr;
    if (rdma_get_cm_event(cm_channel_.get(), &raw) != 0)
      return {}; // EAGAIN: nothing
    CmEvent e(raw);
    if (e->event == RDMA_CM_EVENT_DISCONNECTED || e->event == RDMA_CM_EVENT_DEVICE_REMOVAL ||
        e->event == RDMA_CM_EVENT_TIMEWAIT_EXIT) {
      connected_ = false;
      return fail(make_error(LMIG_ERR_CONNECTION_LOST,
                             std::string("peer went away (") + rdma_event_str(e->event) + ")"));
    }
  }
}

Result<bool> RdmaLink::arm() {
  if (failed_)
    return *failed_;
  if (!cq_armed_) {
    if (int rc = ibv_req_notify_cq(res_->cq(), 0); rc != 0)
      return std::move(fail(sys_error("ibv_req_notify_cq", rc)).error());
    cq_armed_ = true;
  }
  // A completion that came before the arm raises no event: look once more.
  LMIG_TRY(progress());
  return incoming_.empty();
}

Result<bool> RdmaLink::sleep_once(int timeout_ms) {
  LMIG_ASSIGN_OR_RETURN(bool armed, arm());
  if (!armed)
    return true;
  stats_.sleeps++;
  pollfd p[2] = {{res_->channel()->fd, POLLIN, 0}, {cm_channel_->fd, POLLIN, 0}};
  int rc = ::poll(p, 2, timeout_ms);
  if (rc < 0 && errno != EINTR)
    return std::move(fail(sys_error("poll")).error());
  if (p[0].revents)
    LMIG_TRY(drain_channel());
  if (p[1].revents)
    LMIG_TRY(check_cm_events());
  return rc > 0;
}

template <typename Pred> Status RdmaLink::wait_until(Pred pred, int timeout_ms, const char *what) {
  LMIG_TRY(progress());
  if (pred())
    return {};
  uint64_t start = now_ns();
  uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : start + uint64_t(timeout_ms) * 1000000;
  uint64_t spin_end = start + spin_ns_.load(std::memory_order_relaxed);
  for (;;) {
    LMIG_TRY(progress());
    if (pred())
      return {};
    uint64_t now = now_ns();
    if (now >= deadline)
      return make_error(LMIG_ERR_TIMEOUT, "rdma link to " + peer_ + ": " + what + ": nothing for " +
                                              std::to_string(timeout_ms) + " ms");
    if (now < spin_end)
      continue;
    int left = timeout_ms < 0 ? 1000 : std::min(1000, ms_left(deadline));
    LMIG_ASSIGN_OR_RETURN(bool woken, sleep_once(std::max(1, left)));
    // Once woken, traffic is likely to follow: spin again before sleeping
    // (but not after a quiet timeout: an idle link must not burn a core).
    if (woken)
      spin_end = now_ns() + spin_ns_.load(std::memory_order_relaxed);
  }
}

Incoming RdmaLink::pop() {
  Incoming m = std::move(incoming_.front());
  incoming_.pop_front();
  if (m.type == wire::Type::pages)
    m.checksum_ok = wire::pages_intact(m.pages, m.data,
                                       static_cast<size_t>(m.pages.npages) * kPageSize, false);
  return m;
}

Result<Incoming> RdmaLink::next(int timeout_ms) {
  if (incoming_.empty()) {
    auto st = wait_until([&] { return !incoming_.empty(); }, timeout_ms, "waiting for a message");
    if (!st.ok() && incoming_.empty())
      return std::move(st.error());
  }
  return pop();
}

Result<std::optional<Incoming>> RdmaLink::poll() {
  if (incoming_.empty()) {
    LMIG_TRY(drain_channel());
    LMIG_TRY(progress());
    if (incoming_.empty())
      return std::optional<Incoming>();
  }
  return std::optional<Incoming>(pop());
}

Status RdmaLink::release(const Incoming &m) {
  if (m.slot < 0)
    return {};
  if (auto st = ring_.release(static_cast<uint32_t>(m.slot)); !st.ok())
    return st;
  slots_released_.value = ring_.released();
  return maybe_return_credits();
}

int RdmaLink::event_fd() const { return res_->channel()->fd; }

} // namespace lmig::rdma

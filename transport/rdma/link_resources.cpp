#include "transport/rdma/link_resources.hpp"

#include <cstring>

#include "transport/rdma/cm_events.hpp"

namespace lmig::rdma {

LinkConfig LinkConfig::demand_target() {
  LinkConfig c;
  c.slot_count = 8;
  c.slot_pages = 64;
  c.role = wire::Role::control;
  return c;
}

LinkConfig LinkConfig::demand_source() {
  LinkConfig c;
  c.staging_count = 8;
  c.staging_pages = 64;
  c.role = wire::Role::control;
  return c;
}

LinkConfig LinkConfig::bulk_target() {
  LinkConfig c;
  c.slot_count = 64;
  c.slot_pages = 32;
  c.recv_count = 96; // every slot write takes a receive too
  c.role = wire::Role::bulk;
  return c;
}

LinkConfig LinkConfig::bulk_source() {
  LinkConfig c;
  c.staging_count = 16;
  c.staging_pages = 32;
  c.role = wire::Role::bulk;
  return c;
}

Result<MemoryRegion> LinkResources::map_and_register(Mapping &mem, size_t bytes, int access,
                                                     const char *what) {
  if (bytes == 0)
    return MemoryRegion();
  LMIG_ASSIGN_OR_RETURN(mem, Mapping::anonymous(bytes));
  MemoryRegion mr(ibv_reg_mr(pd_.get(), mem.get(), bytes, access));
  if (!mr)
    return sys_error(std::string("ibv_reg_mr ") + what + " (" + std::to_string(bytes >> 10) +
                     " KiB; RLIMIT_MEMLOCK?)");
  return mr;
}

Result<std::unique_ptr<LinkResources>> LinkResources::create(rdma_cm_id *id, const LinkConfig &cfg) {
  if (!id->verbs)
    return make_error(LMIG_ERR_INTERNAL, "rdma: connection has no device yet");
  if (cfg.recv_count < 2 || cfg.recv_bytes < sizeof(SendHeader) + 64 || cfg.send_buffers == 0)
    return make_error(LMIG_ERR_INVALID_ARGUMENT, "rdma: link needs at least 2 receives, "
                                                 "receive buffers of 96+ bytes and a send buffer");
  if ((cfg.slot_count && (cfg.slot_pages == 0 || cfg.slot_pages > wire::kMaxPagesPerFrame)) ||
      (cfg.staging_count && (cfg.staging_pages == 0 || cfg.staging_pages > wire::kMaxPagesPerFrame)))
    return make_error(LMIG_ERR_INVALID_ARGUMENT, "rdma: slots of 1 to 1024 pages");
  std::unique_ptr<LinkResources> r(new LinkResources());
  r->pd_.reset(ibv_alloc_pd(id->verbs));
  if (!r->pd_)
    return sys_error("ibv_alloc_pd");
  r->channel_.reset(ibv_create_comp_channel(id->verbs));
  if (!r->channel_)
    return sys_error("ibv_create_comp_channel");
  LMIG_TRY(set_nonblocking(r->channel_->fd, "completion channel"));

  // Every send-side work request is signalled (its completion frees its
  // buffer), so the send queue holds at most the buffers plus inline SENDs.
  r->sq_depth_ = cfg.staging_count + cfg.send_buffers + 16;
  int cqe = static_cast<int>(r->sq_depth_ + cfg.recv_count);
  r->cq_ = CompletionQueue(ibv_create_cq(id->verbs, cqe, nullptr, r->channel_.get(), 0));
  if (!r->cq_.get())
    return sys_error("ibv_create_cq");

  ibv_qp_init_attr qa{};
  qa.send_cq = r->cq_.get();
  qa.recv_cq = r->cq_.get();
  qa.qp_type = IBV_QPT_RC;
  qa.cap.max_send_wr = r->sq_depth_;
  qa.cap.max_recv_wr = cfg.recv_count;
  qa.cap.max_send_sge = 1;
  qa.cap.max_recv_sge = 1;
  qa.cap.max_inline_data = 128; // page requests, credits and short control messages
  if (rdma_create_qp(id, r->pd_.get(), &qa) != 0)
    return sys_error("rdma_create_qp (RC, " + std::to_string(r->sq_depth_) + " sends, " +
                     std::to_string(cfg.recv_count) + " receives)");
  r->qp_ = CmQueuePair(id);
  r->max_inline_ = qa.cap.max_inline_data;

  SlotLayout slot{cfg.slot_pages}, staging{cfg.staging_pages};
  LMIG_ASSIGN_OR_RETURN(r->slots_mr_,
                        r->map_and_register(r->slots_mem_, slot.bytes(cfg.slot_count),
                                            IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
                                            "slot ring"));
  LMIG_ASSIGN_OR_RETURN(r->staging_mr_,
                        r->map_and_register(r->staging_mem_, staging.bytes(cfg.staging_count),
                                            IBV_ACCESS_LOCAL_WRITE, "staging buffers"));
  r->recv_bytes_ = cfg.recv_bytes;
  LMIG_ASSIGN_OR_RETURN(r->recv_mr_,
                        r->map_and_register(r->recv_mem_, size_t(cfg.recv_count) * cfg.recv_bytes,
                                            IBV_ACCESS_LOCAL_WRITE, "receive buffers"));
  r->send_bytes_ = cfg.recv_bytes; // fragments are cut to the smaller of this and the peer's
  LMIG_ASSIGN_OR_RETURN(r->send_mr_,
                        r->map_and_register(r->send_mem_, size_t(cfg.send_buffers) * r->send_bytes_,
                                            IBV_ACCESS_LOCAL_WRITE, "send buffers"));
  for (uint32_t i = 0; i < cfg.recv_count; i++)
    LMIG_TRY(r->post_recv(i));
  return r;
}

Status LinkResources::post_recv(uint32_t index) {
  ibv_sge sge{};
  sge.addr = reinterpret_cast<uintptr_t>(recv_buf(index));
  sge.length = recv_bytes_;
  sge.lkey = recv_mr_->lkey;
  ibv_recv_wr wr{};
  wr.wr_id = index;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr *bad = nullptr;
  int rc = ibv_post_recv(qp_.get(), &wr, &bad);
  if (rc != 0)
    return sys_error("ibv_post_recv", rc);
  return {};
}

LinkParams LinkResources::params(const LinkConfig &cfg) const {
  LinkParams p = make_link_params();
  p.role = static_cast<uint16_t>(cfg.role);
  p.session = cfg.session;
  if (cfg.slot_count) {
    p.slot_base = reinterpret_cast<uintptr_t>(slots_mem_.get());
    p.slot_rkey = slots_mr_->rkey;
    p.slot_count = cfg.slot_count;
    p.slot_pages = cfg.slot_pages;
  }
  p.recv_count = cfg.recv_count;
  p.recv_bytes = cfg.recv_bytes;
  return p;
}

} // namespace lmig::rdma

#include "transport/uring_sender.hpp"

#include <sys/socket.h>

#include <cstring>

namespace lmig {
namespace {
constexpr size_t kHeaders = sizeof(wire::FrameHeader) + sizeof(wire::PagesHeader);
}

UringSender::UringSender(int fd, std::string peer, Uring ring, Mapping pool, size_t slot_bytes,
                         unsigned nbuf, unsigned batch)
    : fd_(fd), peer_(std::move(peer)), ring_(std::move(ring)), pool_(std::move(pool)),
      slot_bytes_(slot_bytes), batch_(batch) {
  for (unsigned i = nbuf; i-- > 0;)
    free_.push_back(static_cast<int>(i));
}

Result<std::unique_ptr<UringSender>> UringSender::create(int fd, std::string peer,
                                                         uint32_t max_pages, unsigned nbuf,
                                                         unsigned batch, FrameCryptoPtr crypto) {
  // Page data starts page-aligned; the headers sit just before it. Not
  // populated here: tens of MiB touched up front would sit in the
  // switchover's path (the first demand waits for the page server); the
  // sender's first fill of each slot faults it in instead.
  // A page more at the end for a sealed frame's tag.
  size_t slot_bytes = 4096 + static_cast<size_t>(max_pages) * 4096 + (crypto ? 4096 : 0);
  LMIG_ASSIGN_OR_RETURN(Mapping pool, Mapping::anonymous(slot_bytes * nbuf));
  LMIG_ASSIGN_OR_RETURN(Uring ring, Uring::create(std::max(8u, 2 * nbuf)));
  std::unique_ptr<UringSender> u(new UringSender(fd, std::move(peer), std::move(ring),
                                                 std::move(pool), slot_bytes, nbuf, batch));
  u->crypto_ = std::move(crypto);
  return u;
}

UringSender::~UringSender() {
  if (!inflight_.empty())
    (void)reap_inflight();
}

Status UringSender::reap_inflight() {
  Status first;
  for (size_t k = 0; k < inflight_.size(); k++) {
    LMIG_ASSIGN_OR_RETURN(io_uring_cqe * cqe, ring_.wait());
    int res = cqe->res;
    size_t which = static_cast<size_t>(io_uring_cqe_get_data64(cqe));
    ring_.seen(cqe);
    uint32_t want = which < inflight_.size() ? inflight_[which].second : 0;
    if (first.ok() && (res < 0 || static_cast<uint32_t>(res) != want)) {
      int err = res < 0 ? -res : EPIPE;
      first = make_error(LMIG_ERR_CONNECTION_LOST,
                         "connection to " + peer_ + " broke: " +
                             (res < 0 ? std::string(std::strerror(err)) : "short write"),
                         err);
    }
  }
  for (auto &[slot, len] : inflight_)
    free_.push_back(slot);
  inflight_.clear();
  return first;
}

Status UringSender::submit_pending() {
  if (pending_.empty())
    return {};
  size_t n = pending_.size();
  for (size_t k = 0; k < n; k++) {
    auto [slot, len] = pending_.front();
    pending_.pop_front();
    LMIG_ASSIGN_OR_RETURN(io_uring_sqe * sqe, ring_.sqe());
    uint8_t *frame = slot_base(slot) + 4096 - kHeaders;
    io_uring_prep_send(sqe, fd_, frame, len, MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data64(sqe, inflight_.size());
    if (k + 1 < n)
      sqe->flags |= IOSQE_IO_LINK; // in order, or not at all
    inflight_.push_back({slot, len});
  }
  return ring_.submit();
}

Result<UringSender::Slot> UringSender::acquire() {
  if (free_.empty()) {
    if (inflight_.empty())
      LMIG_TRY(submit_pending());
    LMIG_TRY(reap_inflight());
    LMIG_TRY(submit_pending());
  }
  int i = free_.back();
  free_.pop_back();
  return Slot{i, slot_base(i) + 4096};
}

Status UringSender::send(const Slot &slot, const wire::PagesHeader &h) {
  uint32_t data_len = h.npages * 4096;
  wire::FrameHeader fh{wire::kMagic, static_cast<uint16_t>(wire::Type::pages), 0,
                       static_cast<uint32_t>(sizeof h + data_len), 0};
  uint8_t *frame = slot_base(slot.index) + 4096 - kHeaders;
  std::memcpy(frame + sizeof fh, &h, sizeof h);
  if (crypto_) {
    std::span<uint8_t> payload(frame + sizeof fh, sizeof h + data_len);
    LMIG_TRY(crypto_->seal.seal(fh, {&payload, 1}, frame + kHeaders + data_len));
  }
  std::memcpy(frame, &fh, sizeof fh);
  pending_.push_back({slot.index, static_cast<uint32_t>(sizeof fh + fh.length)});
  if (!inflight_.empty() && io_uring_cq_ready(ring_.get()) >= inflight_.size())
    LMIG_TRY(reap_inflight()); // the last batch is out: keep the socket busy
  if (inflight_.empty() && pending_.size() >= batch_)
    return submit_pending();
  if (!inflight_.empty() && free_.empty() && pending_.size() >= batch_) {
    // Everything is in use: let the batch in flight finish, send the next.
    LMIG_TRY(reap_inflight());
    return submit_pending();
  }
  return {};
}

Status UringSender::flush() {
  LMIG_TRY(reap_inflight());
  LMIG_TRY(submit_pending());
  return reap_inflight();
}

} // namespace lmig

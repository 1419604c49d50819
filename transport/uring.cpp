#include "transport/uring.hpp"

#include <cstring>

namespace lmig {

Result<Uring> Uring::create(unsigned entries, unsigned flags) {
  Uring u;
  int r = io_uring_queue_init(entries, &u.ring_, flags);
  if (r < 0)
    return sys_error("io_uring_queue_init", -r);
  u.live_ = true;
  return u;
}

Uring::~Uring() {
  if (live_)
    io_uring_queue_exit(&ring_);
}

Result<io_uring_sqe *> Uring::sqe() {
  io_uring_sqe *s = io_uring_get_sqe(&ring_);
  if (!s) {
    LMIG_TRY(submit());
    s = io_uring_get_sqe(&ring_);
  }
  if (!s)
    return make_error(LMIG_ERR_SYSTEM, "io_uring submission queue is full");
  return s;
}

Status Uring::submit() {
  int r = io_uring_submit(&ring_);
  if (r < 0)
    return sys_error("io_uring_submit", -r);
  return {};
}

Result<io_uring_cqe *> Uring::wait() {
  io_uring_cqe *cqe = nullptr;
  for (;;) {
    int r = io_uring_wait_cqe(&ring_, &cqe);
    if (r == -EINTR)
      continue;
    if (r < 0)
      return sys_error("io_uring_wait_cqe", -r);
    return cqe;
  }
}

} // namespace lmig

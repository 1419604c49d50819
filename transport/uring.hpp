// One io_uring instance (liburing), owned: created once, torn down once.
#pragma once

#include <liburing.h>

#include "engine/base/error.hpp"

namespace lmig {

class Uring {
public:
  static Result<Uring> create(unsigned entries, unsigned flags = 0);
  Uring(Uring &&o) noexcept : ring_(o.ring_), live_(o.live_) { o.live_ = false; }
  Uring &operator=(Uring &&) = delete;
  Uring(const Uring &) = delete;
  ~Uring();

  io_uring *get() { return &ring_; }
  // An SQE to fill (submits first when the queue is full).
  Result<io_uring_sqe *> sqe();
  Status submit();
  // Waits for one completion; the caller must seen() it.
  Result<io_uring_cqe *> wait();
  void seen(io_uring_cqe *cqe) { io_uring_cqe_seen(&ring_, cqe); }

private:
  Uring() = default;
  io_uring ring_{};
  bool live_ = false;
};

} // namespace lmig

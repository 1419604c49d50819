// Sends page frames on a stream socket through io_uring. A pool of buffers:
// the caller fills some (reading the process, hashing) while the previous
// batch is sent; each batch is one submission of linked SEND requests
// (MSG_WAITALL, MSG_NOSIGNAL), so frames stay in order and the socket copy
// can run in the kernel while this thread reads the next pages. (Registered
// buffers would need WRITE_FIXED, which raises SIGPIPE on a broken link and
// returns short writes on sockets: a plain SEND is the honest choice here.)
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/base/mapping.hpp"
#include "transport/secure/frame_cipher.hpp"
#include "transport/uring.hpp"
#include "transport/wire.hpp"

namespace lmig {

class UringSender {
public:
  // max_pages: the largest frame's page count; nbuf buffers; batch frames
  // per submission.
  // crypto: the connection's keys; each frame is sealed in its buffer.
  static Result<std::unique_ptr<UringSender>> create(int fd, std::string peer, uint32_t max_pages,
                                                     unsigned nbuf = 8, unsigned batch = 4,
                                                     FrameCryptoPtr crypto = nullptr);
  ~UringSender();

  struct Slot {
    int index = -1;
    uint8_t *data = nullptr; // where the page data goes (max_pages * 4096 bytes)
  };
  // A free buffer (waits for writes to finish if all are in use).
  Result<Slot> acquire();
  // Queues a filled buffer as a pages frame.
  Status send(const Slot &slot, const wire::PagesHeader &h);
  // Writes everything queued and waits for it.
  Status flush();

private:
  UringSender(int fd, std::string peer, Uring ring, Mapping pool, size_t slot_bytes, unsigned nbuf,
              unsigned batch);
  Status submit_pending();
  Status reap_inflight();
  uint8_t *slot_base(int i) const { return pool_.bytes() + static_cast<size_t>(i) * slot_bytes_; }

  int fd_;
  std::string peer_;
  FrameCryptoPtr crypto_;
  Uring ring_;
  Mapping pool_;
  size_t slot_bytes_;
  unsigned batch_;
  std::vector<int> free_;
  std::deque<std::pair<int, uint32_t>> pending_;  // slot, frame length
  std::vector<std::pair<int, uint32_t>> inflight_;
};

} // namespace lmig

// One channel of a post-copy migration (demand or bulk), whatever carries
// it: TCP (tcp_channel.hpp) or RDMA (rdma/rdma_channel.hpp). The lazy pager
// and the page server speak only this: messages out and in, page runs out
// from buffers the channel owns (registered once on RDMA), page runs in
// pointing into the channel's memory until released (on RDMA, straight into
// the registered slot: UFFDIO_COPY takes them from there).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "engine/base/error.hpp"
#include "transport/wire.hpp"

namespace lmig {

struct InMessage {
  wire::Type type = wire::Type::error;
  wire::PagesHeader pages{};         // type == pages
  bool checksum_ok = true;           // pages: the data matches pages.xxh3
  std::span<const uint8_t> payload;  // pages: the page data; others: the message
  uint64_t token = 0;                // what release() needs
};

class Channel {
public:
  virtual ~Channel() = default;
  virtual const std::string &peer() const = 0;
  virtual const char *kind() const = 0; // "tcp", "rdma"

  // A message (not pages). Callers serialise their own sends.
  virtual Status send(wire::Type type, std::span<const uint8_t> payload = {}) = 0;

  // Pages out: take a buffer, fill up to max_pages() pages, send it with its
  // header (xxh3 computed by the caller). May return before the data left:
  // flush() waits for everything sent so far.
  struct PageBuffer {
    int32_t index = -1;
    uint8_t *data = nullptr;
  };
  virtual uint32_t max_pages() const = 0;
  virtual Result<PageBuffer> acquire() = 0;
  virtual Status send_pages(const PageBuffer &buffer, const wire::PagesHeader &h) = 0;
  virtual Status flush() = 0;

  // Messages in, in order. poll() never blocks; next() waits up to
  // timeout_ms (LMIG_ERR_TIMEOUT). A message stays valid until release().
  virtual Result<std::optional<InMessage>> poll() = 0;
  virtual Result<InMessage> next(int timeout_ms) = 0;
  virtual void release(const InMessage &m) = 0;
  // For an event loop: arm(), then sleep until event_fd() is readable, then
  // poll(). arm() returns false when a message is already waiting.
  virtual Result<bool> arm() = 0;
  virtual int event_fd() const = 0;
  // Makes a thread blocked on this channel return (the migration is over).
  virtual void shut_down() = 0;
  // Whether its frames are sealed (authenticated and encrypted): then page
  // runs need no checksum of their own.
  virtual bool sealed() const { return false; }
};

} // namespace lmig

#include "transport/tcp_channel.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "engine/base/clock.hpp"

namespace lmig {

TcpChannel::TcpChannel(Connection conn, uint32_t max_pages)
    : conn_(std::move(conn)), max_pages_(max_pages), assembler_(conn_.peer()) {
  assembler_.set_crypto(conn_.crypto());
}

TcpChannel::~TcpChannel() {
  if (reader_)
    reader_->stop();
}

Result<std::unique_ptr<TcpChannel>> TcpChannel::create(Connection conn, Receive receive, Send send,
                                                       uint32_t max_pages) {
  std::unique_ptr<TcpChannel> c(new TcpChannel(std::move(conn), max_pages));
  if (receive == Receive::reader_thread) {
    LMIG_ASSIGN_OR_RETURN(c->reader_, FrameReader::start(c->conn_.fd(), c->conn_.peer(),
                                                         32u << 20, 1, c->conn_.crypto()));
  }
  if (send == Send::batched) {
    LMIG_ASSIGN_OR_RETURN(c->sender_,
                          UringSender::create(c->conn_.fd(), c->conn_.peer(), max_pages, 8, 4,
                                              c->conn_.crypto()));
  } else {
    c->immediate_.reset(new uint8_t[static_cast<size_t>(max_pages) * 4096]);
  }
  return c;
}

Status TcpChannel::send(wire::Type type, std::span<const uint8_t> payload) {
  if (sender_)
    LMIG_TRY(sender_->flush()); // after the pages queued before it
  return conn_.send(type, payload);
}

Result<Channel::PageBuffer> TcpChannel::acquire() {
  if (sender_) {
    LMIG_ASSIGN_OR_RETURN(auto slot, sender_->acquire());
    return PageBuffer{slot.index, slot.data};
  }
  return PageBuffer{0, immediate_.get()};
}

Status TcpChannel::send_pages(const PageBuffer &buffer, const wire::PagesHeader &h) {
  if (sender_)
    return sender_->send(UringSender::Slot{buffer.index, buffer.data}, h);
  return conn_.send_pages(h, buffer.data);
}

Status TcpChannel::flush() { return sender_ ? sender_->flush() : Status{}; }

InMessage TcpChannel::from_frame(wire::Type type, std::span<const uint8_t> payload, bool checked,
                                 bool checksum_ok, uint64_t token) const {
  InMessage m;
  m.type = type;
  m.token = token;
  m.payload = payload;
  if (type == wire::Type::pages && payload.size() >= sizeof(wire::PagesHeader)) {
    std::memcpy(&m.pages, payload.data(), sizeof m.pages);
    m.payload = payload.subspan(sizeof m.pages);
    m.checksum_ok = checked ? checksum_ok
                            : wire::pages_intact(m.pages, m.payload.data(), m.payload.size(),
                                                 sealed());
  }
  return m;
}

Result<std::optional<InMessage>> TcpChannel::poll_inline() {
  if (inline_taken_)
    return std::optional<InMessage>{};
  wire::Type t;
  std::span<const uint8_t> payload;
  // Frames already here come first: a peer that sent its last ones (an
  // error, say) and closed is heard before its close is.
  LMIG_ASSIGN_OR_RETURN(bool have, assembler_.front(t, payload));
  if (!have) {
    LMIG_TRY(assembler_.fill(conn_.fd()));
    LMIG_ASSIGN_OR_RETURN(have, assembler_.front(t, payload));
  }
  if (!have)
    return std::optional<InMessage>{};
  inline_taken_ = true;
  return std::optional<InMessage>{from_frame(t, payload, false, true, 0)};
}

Result<std::optional<InMessage>> TcpChannel::poll() {
  if (!reader_)
    return poll_inline();
  Frame f;
  Error err;
  if (reader_->try_next(f, err))
    return std::optional<InMessage>{from_frame(f.type, f.payload, true, f.checksum_ok, f.end)};
  if (err.code != LMIG_OK)
    return err;
  return std::optional<InMessage>{};
}

Result<InMessage> TcpChannel::next(int timeout_ms) {
  if (reader_) {
    LMIG_ASSIGN_OR_RETURN(Frame f, reader_->next(timeout_ms));
    return from_frame(f.type, f.payload, true, f.checksum_ok, f.end);
  }
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
  for (;;) {
    LMIG_ASSIGN_OR_RETURN(auto m, poll_inline());
    if (m)
      return std::move(*m);
    uint64_t now = now_ns();
    if (timeout_ms >= 0 && now >= deadline)
      return make_error(LMIG_ERR_TIMEOUT, "peer " + conn_.peer() + " was silent for " +
                                              std::to_string(timeout_ms) + " ms");
    pollfd p{conn_.fd(), POLLIN, 0};
    ::poll(&p, 1, timeout_ms < 0 ? -1 : static_cast<int>((deadline - now) / 1000000 + 1));
  }
}

void TcpChannel::release(const InMessage &m) {
  if (reader_) {
    Frame f;
    f.end = m.token;
    reader_->release(f);
    return;
  }
  if (inline_taken_) {
    assembler_.consume();
    inline_taken_ = false;
  }
}

int TcpChannel::event_fd() const { return reader_ ? reader_->notify_fd() : conn_.fd(); }

void TcpChannel::shut_down() { ::shutdown(conn_.fd(), SHUT_RDWR); }

} // namespace lmig

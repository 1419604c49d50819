#include "transport/frame_assembler.hpp"

#include <sys/socket.h>

#include <cstdint>
#include <cstring>

namespace lmig {

Result<bool> FrameAssembler::fill(int fd) {
  if (have_ == cap_)
    return false; // a whole frame is waiting to be consumed
  ssize_t n = ::recv(fd, buf_.get() + have_, cap_ - have_, MSG_DONTWAIT);
  if (n > 0) {
    have_ += static_cast<size_t>(n);
    return true;
  }
  if (n == 0)
    return make_error(LMIG_ERR_CONNECTION_LOST, "peer " + peer_ + " closed the connection");
  if (errno == EAGAIN || errno == EINTR)
    return false;
  int err = errno;
  return make_error(LMIG_ERR_CONNECTION_LOST,
                    "connection to " + peer_ + " broke: " + std::strerror(err), err);
}

Result<bool> FrameAssembler::front(wire::Type &type, std::span<const uint8_t> &payload) {
  if (have_ < sizeof(wire::FrameHeader))
    return false;
  wire::FrameHeader h;
  std::memcpy(&h, buf_.get(), sizeof h);
  if (h.magic != wire::kMagic)
    return make_error(LMIG_ERR_PROTOCOL,
                      "peer " + peer_ + " does not speak the lmig protocol (bad frame)");
  if (h.length > max_frame_)
    return make_error(LMIG_ERR_PROTOCOL, "peer " + peer_ + " sent a frame of " +
                                             std::to_string(h.length) + " bytes");
  LMIG_ASSIGN_OR_RETURN(size_t plain, check_sealing(h, crypto_.get(), peer_));
  if (have_ < sizeof h + h.length)
    return false;
  if (front_plain_ == SIZE_MAX) { // opened once, however often it is looked at
    if (crypto_)
      LMIG_TRY(crypto_->open.open(h, buf_.get() + sizeof h, peer_));
    front_plain_ = plain;
  }
  type = static_cast<wire::Type>(h.type);
  payload = {buf_.get() + sizeof h, front_plain_};
  return true;
}

void FrameAssembler::consume() {
  wire::FrameHeader h;
  std::memcpy(&h, buf_.get(), sizeof h);
  size_t used = sizeof h + h.length;
  std::memmove(buf_.get(), buf_.get() + used, have_ - used);
  have_ -= used;
  front_plain_ = SIZE_MAX;
}

} // namespace lmig

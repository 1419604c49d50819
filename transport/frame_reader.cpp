#include "transport/frame_reader.hpp"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <cstring>

#include "transport/uring.hpp"

namespace lmig {

FrameReader::FrameReader(int fd, std::string peer, FrameRing ring)
    : fd_(fd), peer_(std::move(peer)), ring_(std::move(ring)) {}

Result<std::unique_ptr<FrameReader>> FrameReader::start(int fd, std::string peer,
                                                        size_t ring_bytes, size_t streams,
                                                        FrameCryptoPtr crypto) {
  LMIG_ASSIGN_OR_RETURN(FrameRing ring, FrameRing::create(ring_bytes));
  std::unique_ptr<FrameReader> r(new FrameReader(fd, std::move(peer), std::move(ring)));
  r->crypto_ = std::move(crypto);
  r->streams_left_ = std::max<size_t>(streams, 1);
  r->notify_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!r->notify_)
    return sys_error("eventfd");
  r->thread_ = std::thread([p = r.get()] { p->run(); });
  return r;
}

FrameReader::~FrameReader() { stop(); }

void FrameReader::stop() {
  stopping_ = true;
  space_cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void FrameReader::push_error(Error e) {
  std::lock_guard lock(mu_);
  if (!failed_) {
    failed_ = true;
    error_ = std::move(e);
  }
  frames_cv_.notify_all();
  uint64_t one = 1;
  (void)!::write(notify_.get(), &one, sizeof one);
}

void FrameReader::parse_available() {
  // Called by the reader thread only; tail_/parsed_ are its own.
  std::deque<Frame> ready;
  while (tail_ - parsed_ >= sizeof(wire::FrameHeader)) {
    wire::FrameHeader h;
    std::memcpy(&h, ring_.at(parsed_), sizeof h);
    if (h.magic != wire::kMagic) {
      push_error(make_error(LMIG_ERR_PROTOCOL,
                            "peer " + peer_ + " does not speak the lmig protocol (bad frame)"));
      return;
    }
    if (sizeof h + h.length > ring_.size() / 2) {
      push_error(make_error(LMIG_ERR_PROTOCOL, "peer " + peer_ + " sent a frame of " +
                                                   std::to_string(h.length) + " bytes"));
      return;
    }
    auto plain = check_sealing(h, crypto_.get(), peer_);
    if (!plain.ok()) {
      push_error(std::move(plain).error());
      return;
    }
    if (tail_ - parsed_ < sizeof h + h.length)
      break;
    Frame f;
    f.type = static_cast<wire::Type>(h.type);
    f.payload = {ring_.at(parsed_ + sizeof h), *plain};
    f.end = parsed_ + sizeof h + h.length;
    if (crypto_) {
      auto opened = crypto_->open.open(h, ring_.at(parsed_ + sizeof h), peer_);
      if (!opened.ok()) {
        push_error(std::move(opened).error());
        return;
      }
    }
    if (f.type == wire::Type::pages && f.payload.size() >= sizeof(wire::PagesHeader)) {
      wire::PagesHeader ph;
      std::memcpy(&ph, f.payload.data(), sizeof ph);
      const uint8_t *data = f.payload.data() + sizeof ph;
      size_t len = f.payload.size() - sizeof ph;
      f.checksum_ok = wire::pages_intact(ph, data, len, crypto_ != nullptr);
    }
    parsed_ = f.end;
    ready.push_back(f);
    if ((f.type == wire::Type::pages_end && --streams_left_ == 0) ||
        f.type == wire::Type::error) {
      finished_ = true;
      break;
    }
  }
  if (ready.empty())
    return;
  std::lock_guard lock(mu_);
  bool was_empty = frames_.empty();
  for (auto &f : ready)
    frames_.push_back(f);
  frames_cv_.notify_all();
  if (was_empty) {
    uint64_t one = 1;
    (void)!::write(notify_.get(), &one, sizeof one);
  }
}

void FrameReader::run() {
  // Receiving the stream is background work: what a waiting fault needs
  // runs first.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 5);
  auto ring = Uring::create(8);
  if (!ring.ok()) {
    push_error(std::move(ring).error());
    return;
  }
  bool in_flight = false;
  while (!stopping_) {
    if (!in_flight) {
      size_t free_bytes;
      {
        std::unique_lock lock(mu_);
        space_cv_.wait_for(lock, std::chrono::milliseconds(50),
                           [&] { return stopping_ || ring_.size() - (tail_ - head_) > 0; });
        free_bytes = ring_.size() - (tail_ - head_);
      }
      if (stopping_)
        break;
      if (free_bytes == 0)
        continue;
      auto sqe = ring->sqe();
      if (!sqe.ok()) {
        push_error(std::move(sqe).error());
        return;
      }
      size_t want = std::min<size_t>(free_bytes, 8u << 20);
      io_uring_prep_recv(*sqe, fd_, ring_.at(tail_), want, 0);
      if (auto st = ring->submit(); !st.ok()) {
        push_error(std::move(st).error());
        return;
      }
      in_flight = true;
    }
    __kernel_timespec ts{0, 50 * 1000 * 1000};
    io_uring_cqe *cqe = nullptr;
    int r = io_uring_wait_cqe_timeout(ring->get(), &cqe, &ts);
    if (r == -ETIME || r == -EINTR)
      continue;
    if (r < 0) {
      push_error(sys_error("io_uring wait", -r));
      return;
    }
    int res = cqe->res;
    ring->seen(cqe);
    in_flight = false;
    if (res == 0) {
      push_error(make_error(LMIG_ERR_CONNECTION_LOST, "peer " + peer_ + " closed the connection"));
      return;
    }
    if (res < 0) {
      if (res == -EINTR || res == -EAGAIN)
        continue;
      push_error(make_error(LMIG_ERR_CONNECTION_LOST,
                            "connection to " + peer_ + " broke: " + std::strerror(-res), -res));
      return;
    }
    {
      std::lock_guard lock(mu_);
      tail_ += static_cast<uint64_t>(res);
    }
    parse_available();
    if (finished_)
      return;
  }
}

bool FrameReader::peek_pages(const std::function<bool(uint64_t, uint32_t)> &pred) {
  std::lock_guard lock(mu_);
  if (frames_.empty() || frames_.front().type != wire::Type::pages)
    return false;
  wire::PagesHeader h;
  std::memcpy(&h, frames_.front().payload.data(), sizeof h);
  return pred(h.addr, h.npages);
}

bool FrameReader::try_next(Frame &out, Error &err) {
  std::lock_guard lock(mu_);
  if (!frames_.empty()) {
    out = frames_.front();
    frames_.pop_front();
    if (frames_.empty() && !failed_) { // the eventfd is armed exactly while frames wait
      uint64_t v;
      (void)!::read(notify_.get(), &v, sizeof v);
    }
    return true;
  }
  if (failed_) {
    err = error_;
    return false;
  }
  err = Error{};
  err.code = LMIG_OK;
  return false;
}

Result<Frame> FrameReader::next(int timeout_ms) {
  std::unique_lock lock(mu_);
  auto ready = [&] { return !frames_.empty() || failed_; };
  if (timeout_ms < 0)
    frames_cv_.wait(lock, ready);
  else if (!frames_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready))
    return make_error(LMIG_ERR_TIMEOUT, "peer " + peer_ + " sent nothing for " +
                                            std::to_string(timeout_ms) + " ms");
  if (!frames_.empty()) {
    Frame f = frames_.front();
    frames_.pop_front();
    if (frames_.empty() && !failed_) {
      uint64_t v;
      (void)!::read(notify_.get(), &v, sizeof v);
    }
    return f;
  }
  return error_;
}

void FrameReader::release(const Frame &f) {
  std::lock_guard lock(mu_);
  if (f.end > head_)
    head_ = f.end;
  space_cv_.notify_all();
}

} // namespace lmig

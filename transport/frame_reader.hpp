// Reads lmig frames from a socket on a thread of its own, through io_uring,
// into a FrameRing, checks the xxh3 of every pages frame there (off the
// consumer's thread), and hands complete frames to the consumer in order.
// Used for page streams, where receiving and installing pages should
// overlap. The stream ends at its last pages_end (a tree sends one per
// process) or an error; the peer sends nothing after it until answered, so
// the connection can go on carrying other messages afterwards.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "engine/base/error.hpp"
#include "engine/base/unique_fd.hpp"
#include "transport/frame_ring.hpp"
#include "transport/secure/frame_cipher.hpp"
#include "transport/wire.hpp"

namespace lmig {

struct Frame {
  wire::Type type = wire::Type::error;
  std::span<const uint8_t> payload;
  bool checksum_ok = true; // pages frames: the data matches its xxh3
  uint64_t end = 0;        // ring counter just past this frame (for release)
};

class FrameReader {
public:
  // fd is borrowed and must outlive the reader. peer names it in errors.
  // streams: how many pages_end frames end the stream.
  // crypto: the connection's keys (frames are opened in the ring, on the
  // reader's thread); null when it is in clear.
  static Result<std::unique_ptr<FrameReader>> start(int fd, std::string peer,
                                                    size_t ring_bytes = 32u << 20,
                                                    size_t streams = 1,
                                                    FrameCryptoPtr crypto = nullptr);
  ~FrameReader();

  // The next frame, in order; LMIG_ERR_TIMEOUT after timeout_ms (-1: wait).
  // A closed or broken connection is an error.
  Result<Frame> next(int timeout_ms);
  // Non-blocking: true and the frame if one is ready.
  bool try_next(Frame &out, Error &err);
  // Whether the next ready frame is a pages frame for which pred(addr,
  // npages) holds (false when none is ready).
  bool peek_pages(const std::function<bool(uint64_t, uint32_t)> &pred);
  // The consumer is done with every frame up to and including this one.
  void release(const Frame &f);
  // Readable whenever frames (or an error) are waiting: for poll().
  int notify_fd() const { return notify_.get(); }
  void stop();

private:
  FrameReader(int fd, std::string peer, FrameRing ring);
  void run();
  void parse_available();
  void push_error(Error e);

  int fd_;
  std::string peer_;
  FrameRing ring_;
  FrameCryptoPtr crypto_;
  UniqueFd notify_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::condition_variable frames_cv_, space_cv_;
  std::deque<Frame> frames_;
  bool failed_ = false;
  Error error_;
  uint64_t head_ = 0;  // released by the consumer
  uint64_t tail_ = 0;  // received from the socket
  uint64_t parsed_ = 0;
  bool finished_ = false; // a frame that ends the stream was read: no more reads
  size_t streams_left_ = 1; // pages_end frames still to come
};

} // namespace lmig

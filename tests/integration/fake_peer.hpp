// A misbehaving target for failure tests: it listens on 127.0.0.1 and plays
// a script (speak garbage, hang up after the image, fail with an error,
// vanish after the last page) against one lmig.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "engine/base/unique_fd.hpp"

namespace lmig::test {

enum class PeerScript {
  garbage,             // answers the hello with bytes that are not lmig
  close_after_hello,   // accepts the hello, then hangs up
  close_after_image,   // takes the image, then hangs up
  error_after_image,   // takes the image, then reports a failure
  close_mid_pages,     // says ready, reads some pages, then hangs up
  vanish_after_pages,  // reads every page, then hangs up without a word
};

class FakePeer {
public:
  explicit FakePeer(PeerScript script);
  ~FakePeer();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // How far the script got (for asserting that lmig reached it).
  const std::string &reached() const { return reached_; }
  void join();

private:
  void serve();
  PeerScript script_;
  UniqueFd listen_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string reached_;
};

} // namespace lmig::test

// A loopback TCP proxy for failure tests: forwards every connection to a
// target port, and can cut all live connections (both ends see them close)
// or refuse new ones for a while.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/unique_fd.hpp"

namespace lmig::test {

class TcpProxy {
public:
  explicit TcpProxy(uint16_t target_port);
  ~TcpProxy();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void cut();
  void refuse(bool on) { refuse_ = on; }
  int accepted() const { return accepted_; }
  // Looks for these bytes in everything forwarded (either way) from now on.
  void watch_for(std::string needle);
  bool seen() const { return seen_; }

private:
  void accept_loop();
  void pump(int from, int to);
  uint16_t target_port_;
  uint16_t port_ = 0;
  UniqueFd listen_;
  std::atomic<bool> stop_{false}, refuse_{false};
  std::atomic<int> accepted_{0};
  std::string needle_;
  std::atomic<bool> seen_{false};
  std::mutex mu_;
  std::vector<int> live_; // both ends of every forwarded connection
  std::list<std::thread> pumps_;
  std::thread acceptor_;
};

} // namespace lmig::test

// Where a post-copy migration in progress waits for its other channels: the
// bulk push (and, after a dropped link, a new demand channel) connects
// separately and names its session; the server hands the channel to the
// migration that registered that session.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "engine/base/error.hpp"
#include "transport/channel.hpp"
#include "transport/wire.hpp"

namespace lmig {

class SessionRegistry {
public:
  class Ticket;
  // Registers a session; it is unregistered when the ticket goes.
  Result<std::unique_ptr<Ticket>> open(uint64_t session);
  bool has(uint64_t session);
  // Hands a channel to the session (false: no such session).
  bool deliver(uint64_t session, wire::Role role, std::unique_ptr<Channel> channel);

  class Ticket {
  public:
    ~Ticket();
    // The next channel of `role`, or a timeout.
    Result<std::unique_ptr<Channel>> wait(wire::Role role, int timeout_ms);
    // A channel of `role` if one has arrived (never blocks; nullptr if not).
    std::unique_ptr<Channel> try_take(wire::Role role);

  private:
    friend class SessionRegistry;
    Ticket(SessionRegistry &reg, uint64_t session) : reg_(reg), session_(session) {}
    SessionRegistry &reg_;
    uint64_t session_;
  };

private:
  struct Slot {
    std::map<wire::Role, std::unique_ptr<Channel>> waiting;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Slot> sessions_;
};

} // namespace lmig

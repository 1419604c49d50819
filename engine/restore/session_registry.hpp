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
#include <set>
#include <string>

#include "engine/base/error.hpp"
#include "transport/channel.hpp"
#include "transport/secure/frame_cipher.hpp"
#include "transport/wire.hpp"

namespace lmig {

class SessionRegistry {
public:
  class Ticket;
  // Registers a session, with the secret its channels must prove (from its
  // control connection's handshake); unregistered when the ticket goes.
  Result<std::unique_ptr<Ticket>> open(uint64_t session, const Key &secret);
  bool has(uint64_t session);
  // The secret of a session in progress.
  std::optional<Key> secret(uint64_t session);
  // Whether an admission nonce is new to the session (and records it): a
  // proof seen once is never taken again.
  bool first_use(uint64_t session, const std::string &nonce);
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
    Key secret{};
    std::set<std::string> nonces;
    std::map<wire::Role, std::unique_ptr<Channel>> waiting;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Slot> sessions_;
};

} // namespace lmig

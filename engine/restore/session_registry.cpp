#include "engine/restore/session_registry.hpp"

#include <chrono>

namespace lmig {

Result<std::unique_ptr<SessionRegistry::Ticket>> SessionRegistry::open(uint64_t session,
                                                                       const Key &secret) {
  std::lock_guard lock(mu_);
  if (session == 0 || sessions_.count(session))
    return make_error(LMIG_ERR_PROTOCOL, "session id " + std::to_string(session) +
                                             " is missing or already in use");
  sessions_[session].secret = secret;
  return std::unique_ptr<Ticket>(new Ticket(*this, session));
}

std::optional<Key> SessionRegistry::secret(uint64_t session) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end())
    return std::nullopt;
  return it->second.secret;
}

bool SessionRegistry::first_use(uint64_t session, const std::string &nonce) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  return it != sessions_.end() && it->second.nonces.insert(nonce).second;
}

bool SessionRegistry::has(uint64_t session) {
  std::lock_guard lock(mu_);
  return sessions_.count(session) > 0;
}

bool SessionRegistry::deliver(uint64_t session, wire::Role role, std::unique_ptr<Channel> channel) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end())
    return false;
  it->second.waiting.insert_or_assign(role, std::move(channel));
  cv_.notify_all();
  return true;
}

SessionRegistry::Ticket::~Ticket() {
  std::lock_guard lock(reg_.mu_);
  reg_.sessions_.erase(session_);
}

Result<std::unique_ptr<Channel>> SessionRegistry::Ticket::wait(wire::Role role, int timeout_ms) {
  std::unique_lock lock(reg_.mu_);
  auto &slot = reg_.sessions_[session_];
  if (!reg_.cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                         [&] { return slot.waiting.count(role) > 0; }))
    return make_error(LMIG_ERR_TIMEOUT, "the source's second connection did not arrive within " +
                                            std::to_string(timeout_ms) + " ms");
  std::unique_ptr<Channel> c = std::move(slot.waiting.at(role));
  slot.waiting.erase(role);
  return c;
}

} // namespace lmig

namespace lmig {

std::unique_ptr<Channel> SessionRegistry::Ticket::try_take(wire::Role role) {
  std::lock_guard lock(reg_.mu_);
  auto &slot = reg_.sessions_[session_];
  auto it = slot.waiting.find(role);
  if (it == slot.waiting.end())
    return nullptr;
  std::unique_ptr<Channel> c = std::move(it->second);
  slot.waiting.erase(it);
  return c;
}

} // namespace lmig

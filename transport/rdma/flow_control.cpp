#include "transport/rdma/flow_control.hpp"

#include <string>

namespace lmig::rdma {

namespace {
Error bad(const std::string &what) { return make_error(LMIG_ERR_PROTOCOL, "rdma: " + what); }
} // namespace

Result<uint64_t> SlotRing::arrived(uint32_t slot) {
  if (held_.empty())
    return bad("pages written to a side that has no slot ring");
  uint32_t due = static_cast<uint32_t>(arrived_ % held_.size());
  if (slot != due)
    return bad("page write into slot " + std::to_string(slot) + ", slot " + std::to_string(due) +
               " was due");
  if (arrived_ - released_ >= held_.size())
    return bad("page write into slot " + std::to_string(slot) + " before it was released");
  held_[slot] = true;
  return arrived_++;
}

Status SlotRing::release(uint32_t slot) {
  if (slot >= held_.size() || !held_[slot])
    return make_error(LMIG_ERR_INTERNAL, "rdma: release of slot " + std::to_string(slot) +
                                             ", which holds nothing");
  held_[slot] = false;
  pending_++;
  // Advance the released prefix over every slot that is free again.
  while (released_ < arrived_ && !held_[released_ % held_.size()] && pending_ > 0) {
    released_++;
    pending_--;
  }
  return {};
}

Status SlotCredits::update(uint64_t released) {
  if (released < released_ || released > written_)
    return bad("peer released " + std::to_string(released) + " slots; " +
               std::to_string(released_) + " before, " + std::to_string(written_) + " written");
  released_ = released;
  return {};
}

Status RecvCredits::update(uint64_t reposted) {
  if (reposted < reposted_ || reposted > sent_)
    return bad("peer reposted " + std::to_string(reposted) + " receives; " +
               std::to_string(reposted_) + " before, " + std::to_string(sent_) + " sent");
  reposted_ = reposted;
  return {};
}

} // namespace lmig::rdma

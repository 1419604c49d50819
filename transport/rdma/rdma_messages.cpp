#include "transport/rdma/rdma_messages.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace lmig::rdma {

namespace {
constexpr uint32_t kParamsMagic = 0x434d524c; // "LRMC"
constexpr uint32_t kSendMagic = 0x534d524c;   // "LRMS"
constexpr uint32_t kSlotMagic = 0x504d524c;   // "LRMP"

Error bad(const std::string &what) { return make_error(LMIG_ERR_PROTOCOL, "rdma: " + what); }

bool known_type(uint16_t t) {
  return t == kTypeCredit ||
         (t >= static_cast<uint16_t>(wire::Type::hello) &&
          t <= static_cast<uint16_t>(wire::Type::inventory));
}
} // namespace

LinkParams make_link_params() {
  LinkParams p;
  p.magic = kParamsMagic;
  return p;
}

Result<LinkParams> decode_link_params(std::span<const uint8_t> bytes) {
  LinkParams p;
  if (bytes.size() < sizeof p)
    return bad("connection parameters of " + std::to_string(bytes.size()) + " bytes (want " +
               std::to_string(sizeof p) + "): the peer is not lmig");
  std::memcpy(&p, bytes.data(), sizeof p);
  if (p.magic != kParamsMagic)
    return bad("connection parameters without lmig's magic: the peer is not lmig");
  if (p.version != kLinkVersion)
    return bad("peer speaks RDMA link version " + std::to_string(p.version) + ", this side " +
               std::to_string(kLinkVersion));
  if (p.role > static_cast<uint16_t>(wire::Role::demand))
    return bad("unknown link role " + std::to_string(p.role));
  if (p.recv_count < 2 || p.recv_count > 4096)
    return bad("peer keeps " + std::to_string(p.recv_count) + " receives posted (2..4096)");
  if (p.recv_bytes < sizeof(SendHeader) + 64 || p.recv_bytes > (1u << 20))
    return bad("peer receive buffers of " + std::to_string(p.recv_bytes) + " bytes");
  if (p.slot_count > 65536)
    return bad("peer slot ring of " + std::to_string(p.slot_count) + " slots");
  if (p.slot_count && (p.slot_pages == 0 || p.slot_pages > wire::kMaxPagesPerFrame))
    return bad("peer slots of " + std::to_string(p.slot_pages) + " pages");
  return p;
}

SendHeader make_send_header(uint16_t type, uint32_t length, uint32_t total, bool more) {
  SendHeader h;
  h.magic = kSendMagic;
  h.type = type;
  h.flags = more ? kMoreFragments : 0;
  h.length = length;
  h.total = total;
  return h;
}

Result<SendHeader> decode_send_header(std::span<const uint8_t> received) {
  SendHeader h;
  if (received.size() < sizeof h)
    return bad("SEND of " + std::to_string(received.size()) + " bytes, shorter than its header");
  std::memcpy(&h, received.data(), sizeof h);
  if (h.magic != kSendMagic)
    return bad("SEND without lmig's magic");
  if (!known_type(h.type))
    return bad("SEND of unknown type " + std::to_string(h.type));
  if (h.flags & ~kMoreFragments)
    return bad("SEND with unknown flags " + std::to_string(h.flags));
  if (h.length != received.size() - sizeof h)
    return bad("SEND says " + std::to_string(h.length) + " payload bytes, carries " +
               std::to_string(received.size() - sizeof h));
  if (h.length > h.total || (h.type == kTypeCredit && h.total != 0))
    return bad("SEND length " + std::to_string(h.length) + " against total " +
               std::to_string(h.total));
  return h;
}

SlotHeader make_slot_header(uint64_t seq, const wire::PagesHeader &pages) {
  SlotHeader h;
  h.magic = kSlotMagic;
  h.seq = seq;
  h.pages = pages;
  return h;
}

Result<SlotHeader> decode_slot_header(const void *at, uint64_t seq, uint32_t slot_pages,
                                      uint32_t byte_len) {
  SlotHeader h;
  std::memcpy(&h, at, sizeof h);
  if (h.magic != kSlotMagic)
    return bad("page slot without lmig's magic");
  if (h.seq != seq)
    return bad("page write " + std::to_string(h.seq) + " arrived where " + std::to_string(seq) +
               " was due");
  if (h.pages.npages == 0 || h.pages.npages > slot_pages)
    return bad("page write of " + std::to_string(h.pages.npages) + " pages into slots of " +
               std::to_string(slot_pages));
  if (h.pages.addr % kPageSize)
    return bad("page write at unaligned address");
  if (byte_len && byte_len != SlotLayout::write_length(h.pages.npages))
    return bad("page write of " + std::to_string(byte_len) + " bytes for " +
               std::to_string(h.pages.npages) + " pages");
  return h;
}

uint32_t fragment_payload(uint32_t max_send) {
  return max_send > sizeof(SendHeader) ? max_send - static_cast<uint32_t>(sizeof(SendHeader)) : 0;
}

uint32_t fragment_count(uint32_t total, uint32_t max_send) {
  uint32_t per = fragment_payload(max_send);
  if (per == 0)
    return 0;
  return total == 0 ? 1 : (total + per - 1) / per;
}

Result<std::optional<Reassembler::Message>> Reassembler::add(const SendHeader &h,
                                                             std::span<const uint8_t> payload) {
  bool more = h.flags & kMoreFragments;
  if (!active_) {
    if (h.total > max_)
      return bad("message of " + std::to_string(h.total) + " bytes exceeds " +
                 std::to_string(max_));
    if (!more) {
      if (payload.size() != h.total)
        return bad("single-fragment message of " + std::to_string(payload.size()) + " bytes, " +
                   std::to_string(h.total) + " announced");
      return std::optional<Message>(Message{h.type, {payload.begin(), payload.end()}});
    }
    active_ = true;
    type_ = h.type;
    total_ = h.total;
    buf_.clear();
    buf_.reserve(std::min<uint32_t>(h.total, 1u << 20)); // the total is the peer's word only
  } else if (h.type != type_ || h.total != total_) {
    return bad("fragment of a " + std::to_string(h.type) + " message inside a " +
               std::to_string(type_) + " message");
  }
  if (buf_.size() + payload.size() > total_)
    return bad("fragments overrun their message of " + std::to_string(total_) + " bytes");
  buf_.insert(buf_.end(), payload.begin(), payload.end());
  if (more) {
    if (buf_.size() == total_)
      return bad("message complete but more fragments announced");
    return std::optional<Message>();
  }
  if (buf_.size() != total_)
    return bad("message ended at " + std::to_string(buf_.size()) + " of " +
               std::to_string(total_) + " bytes");
  active_ = false;
  return std::optional<Message>(Message{type_, std::move(buf_)});
}

} // namespace lmig::rdma

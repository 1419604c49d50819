// What the RDMA transport puts on the wire besides the lmig messages
// themselves, and where pages sit in registered memory:
//   - LinkParams: each side's half of the connection set-up (rdma_cm
//     private data): where its slot ring is, its rkey, how many receives it
//     keeps posted;
//   - SendHeader: heads every SEND (an lmig message or a fragment of one,
//     or a bare credit return);
//   - SlotHeader: written by the peer in front of the pages of every
//     RDMA_WRITE_WITH_IMM (the immediate names the slot);
//   - SlotLayout: the geometry shared by a slot ring and a staging pool, so
//     one contiguous write moves header and pages and the pages land
//     page-aligned (ready for UFFDIO_COPY);
//   - Reassembler: lmig messages larger than one receive buffer travel as
//     several SENDs.
// Both ends are the same architecture (lmig restores registers byte for
// byte), so the headers are plain little-endian structs like wire.hpp's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/base/error.hpp"
#include "transport/wire.hpp"

namespace lmig::rdma {

inline constexpr uint32_t kPageSize = 4096;
inline constexpr uint16_t kLinkVersion = 1;

// Types of SENDs beyond wire::Type: a SEND that only returns credits.
inline constexpr uint16_t kTypeCredit = 0x100;

struct LinkParams {
  uint32_t magic = 0;
  uint16_t version = kLinkVersion;
  uint16_t role = 0;        // wire::Role of the link (the connector says it)
  uint64_t session = 0;     // ties a bulk link to its migration (connector)
  uint64_t slot_base = 0;   // remote address of slot 0's header page
  uint32_t slot_rkey = 0;
  uint32_t slot_count = 0;  // 0: this side receives no pages
  uint32_t slot_pages = 0;  // pages per slot
  uint32_t recv_count = 0;  // receives kept posted (the peer's send credits)
  uint32_t recv_bytes = 0;  // bytes per receive buffer (largest SEND)
  uint32_t reserved = 0;
};
static_assert(sizeof(LinkParams) == 48);
// IB CM REQ private data is 56 bytes at most (RoCE too); rdma_cm adds none
// for RDMA_PS_TCP on InfiniBand-class transports.
inline constexpr size_t kMaxConnectPrivateData = 56;

struct SendHeader {
  uint32_t magic = 0;
  uint16_t type = 0;          // wire::Type or kTypeCredit
  uint16_t flags = 0;         // kMoreFragments
  uint32_t length = 0;        // payload bytes in this SEND
  uint32_t total = 0;         // payload bytes of the whole message
  uint64_t recvs_reposted = 0; // sender's receives consumed and posted again (cumulative)
  uint64_t slots_released = 0; // sender's slots freed by its consumer (cumulative)
};
static_assert(sizeof(SendHeader) == 32);
inline constexpr uint16_t kMoreFragments = 1;

struct SlotHeader {
  uint32_t magic = 0;
  uint32_t reserved = 0;
  uint64_t seq = 0;            // the writer's count of writes into this ring before this one
  wire::PagesHeader pages{};
  uint64_t recvs_reposted = 0;
  uint64_t slots_released = 0;
  uint64_t reserved2 = 0;
};
static_assert(sizeof(SlotHeader) == 64);

LinkParams make_link_params();
// Checks a peer's params (private data may be padded past sizeof).
Result<LinkParams> decode_link_params(std::span<const uint8_t> bytes);

SendHeader make_send_header(uint16_t type, uint32_t length, uint32_t total, bool more);
// Checks the header of a received SEND of `received` bytes and returns it.
Result<SendHeader> decode_send_header(std::span<const uint8_t> received);

SlotHeader make_slot_header(uint64_t seq, const wire::PagesHeader &pages);
// Checks the header the peer wrote into a slot of `slot_pages` pages,
// expected as write number `seq` of `byte_len` bytes (0: unknown).
Result<SlotHeader> decode_slot_header(const void *at, uint64_t seq, uint32_t slot_pages,
                                      uint32_t byte_len);

// One slot (or staging buffer): a header page whose last 64 bytes hold the
// SlotHeader, then `pages` pages of data. A write covers the SlotHeader and
// the pages it carries, contiguous on both sides.
struct SlotLayout {
  uint32_t pages = 0;
  size_t stride() const { return (static_cast<size_t>(pages) + 1) * kPageSize; }
  size_t header_offset(uint32_t slot) const { return slot * stride() + kPageSize - sizeof(SlotHeader); }
  size_t data_offset(uint32_t slot) const { return slot * stride() + kPageSize; }
  static uint32_t write_length(uint32_t npages) {
    return static_cast<uint32_t>(sizeof(SlotHeader) + static_cast<size_t>(npages) * kPageSize);
  }
  size_t bytes(uint32_t count) const { return count * stride(); }
};

// Splits a message into SENDs of at most `max_send` bytes each (header
// included): the payload bytes the i-th carries.
uint32_t fragment_payload(uint32_t max_send);
uint32_t fragment_count(uint32_t total, uint32_t max_send);

// Joins the fragments of a message (they arrive in order on an RC QP).
class Reassembler {
public:
  struct Message {
    uint16_t type = 0;
    std::vector<uint8_t> payload;
  };
  explicit Reassembler(uint32_t max_message = wire::kMaxPayload) : max_(max_message) {}
  // One SEND's header and payload: a complete message, or nullopt while
  // more fragments are due. Fragments that do not continue the message in
  // progress, or overrun its total, are an error.
  Result<std::optional<Message>> add(const SendHeader &h, std::span<const uint8_t> payload);
  bool idle() const { return !active_; }

private:
  uint32_t max_;
  bool active_ = false;
  uint16_t type_ = 0;
  uint32_t total_ = 0;
  std::vector<uint8_t> buf_;
};

} // namespace lmig::rdma

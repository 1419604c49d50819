// The parts of the RDMA transport that need no device: slot-ring and credit
// accounting, the encoding of its headers and connection parameters,
// fragmentation, and HOST:PORT addresses for rdma_cm. Run everywhere.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

#include "transport/rdma/flow_control.hpp"
#include "transport/rdma/rdma_address.hpp"
#include "transport/rdma/rdma_messages.hpp"

using namespace lmig;
using namespace lmig::rdma;

// ---------------------------------------------------------------- slots ----

TEST(SlotRing, ArrivalsMustFollowRingOrder) {
  SlotRing ring(4);
  EXPECT_EQ(ring.arrived(0).value(), 0u);
  EXPECT_FALSE(ring.arrived(2).ok()); // slot 1 is due
  EXPECT_EQ(ring.arrived(1).value(), 1u);
  EXPECT_EQ(ring.held(), 2u);
}

TEST(SlotRing, FullRingRefusesAWriteBeforeARelease) {
  SlotRing ring(2);
  ASSERT_TRUE(ring.arrived(0).ok());
  ASSERT_TRUE(ring.arrived(1).ok());
  EXPECT_FALSE(ring.arrived(0).ok()); // slot 0 not released yet: would be overwritten
  ASSERT_TRUE(ring.release(0).ok());
  EXPECT_EQ(ring.arrived(0).value(), 2u);
}

TEST(SlotRing, OutOfOrderReleaseAdvancesOnlyThePrefix) {
  SlotRing ring(4);
  for (uint32_t i = 0; i < 4; i++)
    ASSERT_TRUE(ring.arrived(i).ok());
  ASSERT_TRUE(ring.release(2).ok());
  ASSERT_TRUE(ring.release(1).ok());
  EXPECT_EQ(ring.released(), 0u); // slot 0 still held: nothing may be reused
  EXPECT_EQ(ring.held(), 2u);
  ASSERT_TRUE(ring.release(0).ok());
  EXPECT_EQ(ring.released(), 3u);
  ASSERT_TRUE(ring.release(3).ok());
  EXPECT_EQ(ring.released(), 4u);
  EXPECT_EQ(ring.held(), 0u);
}

TEST(SlotRing, DoubleReleaseAndStrangersAreErrors) {
  SlotRing ring(2);
  EXPECT_FALSE(ring.release(0).ok());
  ASSERT_TRUE(ring.arrived(0).ok());
  ASSERT_TRUE(ring.release(0).ok());
  EXPECT_FALSE(ring.release(0).ok());
  EXPECT_FALSE(ring.release(7).ok());
}

TEST(SlotRing, NoRingMeansNoPages) {
  SlotRing ring(0);
  EXPECT_FALSE(ring.arrived(0).ok());
}

TEST(SlotCredits, WrapsAroundTheRingAsReleasesComeBack) {
  SlotCredits c(3);
  std::vector<uint32_t> used;
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(c.available());
    used.push_back(c.next_slot());
    c.consume();
  }
  EXPECT_FALSE(c.available());
  EXPECT_EQ(used, (std::vector<uint32_t>{0, 1, 2}));
  ASSERT_TRUE(c.update(1).ok());
  ASSERT_TRUE(c.available());
  EXPECT_EQ(c.next_slot(), 0u);
  EXPECT_EQ(c.next_seq(), 3u);
  c.consume();
  EXPECT_FALSE(c.available());
}

TEST(SlotCredits, RejectsReleasesThatGoBackOrRunAhead) {
  SlotCredits c(4);
  c.consume();
  c.consume();
  ASSERT_TRUE(c.update(1).ok());
  EXPECT_FALSE(c.update(0).ok()); // backwards
  EXPECT_FALSE(c.update(3).ok()); // more than written
  ASSERT_TRUE(c.update(2).ok());
}

TEST(SlotCredits, NoPeerRingMeansNoSlot) {
  SlotCredits c(0);
  EXPECT_FALSE(c.available());
}

// Both sides of the ring in one loop: the writer never finds a slot that the
// reader still holds, whatever the order of releases.
TEST(SlotRing, WriterAndReaderAgreeUnderRandomReleases) {
  SlotRing ring(8);
  SlotCredits writer(8);
  std::vector<uint32_t> held;
  uint32_t seed = 12345;
  uint64_t written = 0;
  for (int step = 0; step < 20000; step++) {
    seed = seed * 1103515245 + 12345;
    if ((seed >> 16) % 3 != 0 && writer.available()) {
      uint32_t slot = writer.next_slot();
      writer.consume();
      ASSERT_TRUE(ring.arrived(slot).ok()) << "step " << step;
      held.push_back(slot);
      written++;
    } else if (!held.empty()) {
      size_t pick = (seed >> 8) % held.size();
      ASSERT_TRUE(ring.release(held[pick]).ok());
      held.erase(held.begin() + static_cast<long>(pick));
      ASSERT_TRUE(writer.update(ring.released()).ok());
    }
  }
  EXPECT_GT(written, 1000u);
}

// -------------------------------------------------------------- credits ----

TEST(RecvCredits, KeepsTheLastReceiveForCreditReturns) {
  RecvCredits c(3);
  EXPECT_TRUE(c.can_send(false));
  c.consume();
  EXPECT_TRUE(c.can_send(false));
  c.consume();
  EXPECT_FALSE(c.can_send(false)); // one left: for a bare credit return only
  EXPECT_TRUE(c.can_send(true));
  c.consume();
  EXPECT_FALSE(c.can_send(true));
  ASSERT_TRUE(c.update(2).ok());
  EXPECT_EQ(c.available(), 2u);
  EXPECT_TRUE(c.can_send(false));
}

TEST(RecvCredits, RejectsCountsThatGoBackOrRunAhead) {
  RecvCredits c(8);
  c.consume();
  EXPECT_FALSE(c.update(2).ok());
  ASSERT_TRUE(c.update(1).ok());
  EXPECT_FALSE(c.update(0).ok());
}

// Two peers that only return credits when half their receives are
// unreported (as the link does) never both run dry.
TEST(RecvCredits, TwoPeersNeverDeadlock) {
  const uint32_t R = 8;
  struct Peer {
    RecvCredits out{R};
    Reported reposted;
    uint64_t sent_msgs = 0;
  } a, b;
  // a floods b with messages, b has nothing to say but credits.
  for (int i = 0; i < 1000; i++) {
    ASSERT_TRUE(a.out.can_send(false)) << "a stalled at " << i;
    a.out.consume();
    a.sent_msgs++;
    b.reposted.value++; // b consumes and reposts at once
    if (b.reposted.untold() >= R / 2) {
      ASSERT_TRUE(b.out.can_send(true));
      b.out.consume();
      b.reposted.told = b.reposted.value;
      ASSERT_TRUE(a.out.update(b.reposted.told).ok());
      a.reposted.value++; // a reposts b's credit SEND
      if (a.reposted.untold() >= R / 2) {
        ASSERT_TRUE(a.out.can_send(true));
        a.out.consume();
        a.reposted.told = a.reposted.value;
        b.reposted.value++;
        ASSERT_TRUE(b.out.update(a.reposted.told).ok());
      }
    }
  }
}

// ------------------------------------------------------------- encoding ----

TEST(LinkParams, RoundTripAndPaddedPrivateData) {
  LinkParams p = make_link_params();
  p.role = static_cast<uint16_t>(wire::Role::bulk);
  p.session = 0x1122334455667788ull;
  p.slot_base = 0x7f0000001000ull;
  p.slot_rkey = 77;
  p.slot_count = 64;
  p.slot_pages = 32;
  p.recv_count = 32;
  p.recv_bytes = 8192;
  uint8_t buf[kMaxConnectPrivateData] = {};
  std::memcpy(buf, &p, sizeof p);
  auto d = decode_link_params(buf); // rdma_cm pads private data with zeros
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->session, p.session);
  EXPECT_EQ(d->slot_base, p.slot_base);
  EXPECT_EQ(d->slot_count, 64u);
  EXPECT_EQ(d->role, p.role);
  static_assert(sizeof(LinkParams) <= kMaxConnectPrivateData);
}

TEST(LinkParams, RejectsStrangersAndNonsense) {
  LinkParams p = make_link_params();
  p.recv_count = 32;
  p.recv_bytes = 8192;
  auto enc = [](const LinkParams &x) {
    std::vector<uint8_t> v(sizeof x);
    std::memcpy(v.data(), &x, sizeof x);
    return v;
  };
  ASSERT_TRUE(decode_link_params(enc(p)).ok());
  EXPECT_FALSE(decode_link_params(std::vector<uint8_t>(10)).ok());
  LinkParams q = p;
  q.magic ^= 1;
  EXPECT_FALSE(decode_link_params(enc(q)).ok());
  q = p;
  q.version = 99;
  EXPECT_NE(decode_link_params(enc(q)).error().message.find("version"), std::string::npos);
  q = p;
  q.recv_count = 1;
  EXPECT_FALSE(decode_link_params(enc(q)).ok());
  q = p;
  q.slot_count = 4;
  q.slot_pages = 0;
  EXPECT_FALSE(decode_link_params(enc(q)).ok());
  q.slot_pages = wire::kMaxPagesPerFrame + 1;
  EXPECT_FALSE(decode_link_params(enc(q)).ok());
  q = p;
  q.role = 9;
  EXPECT_FALSE(decode_link_params(enc(q)).ok());
}

std::vector<uint8_t> send_bytes(const SendHeader &h, size_t payload) {
  std::vector<uint8_t> v(sizeof h + payload, 0xab);
  std::memcpy(v.data(), &h, sizeof h);
  return v;
}

TEST(SendHeader, RoundTripAndChecks) {
  auto h = make_send_header(static_cast<uint16_t>(wire::Type::page_request), 16, 16, false);
  h.recvs_reposted = 5;
  h.slots_released = 9;
  auto d = decode_send_header(send_bytes(h, 16));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->recvs_reposted, 5u);
  EXPECT_EQ(d->slots_released, 9u);
  EXPECT_FALSE(decode_send_header(send_bytes(h, 15)).ok()); // length disagrees
  EXPECT_FALSE(decode_send_header(std::vector<uint8_t>(8)).ok());
  auto bad = h;
  bad.type = 77;
  EXPECT_FALSE(decode_send_header(send_bytes(bad, 16)).ok());
  bad = h;
  bad.flags = 0x8;
  EXPECT_FALSE(decode_send_header(send_bytes(bad, 16)).ok());
  bad = h;
  bad.magic = 0;
  EXPECT_FALSE(decode_send_header(send_bytes(bad, 16)).ok());
  auto credit = make_send_header(kTypeCredit, 0, 0, false);
  EXPECT_TRUE(decode_send_header(send_bytes(credit, 0)).ok());
}

TEST(SlotHeader, RoundTripAndChecks) {
  wire::PagesHeader ph{0x7f0000000000ull, 3, 0, 0xdeadbeefull};
  SlotHeader h = make_slot_header(41, ph);
  auto d = decode_slot_header(&h, 41, 32, SlotLayout::write_length(3));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->pages.addr, ph.addr);
  EXPECT_EQ(d->pages.xxh3, ph.xxh3);
  EXPECT_TRUE(decode_slot_header(&h, 41, 32, 0).ok());   // length unknown
  EXPECT_FALSE(decode_slot_header(&h, 40, 32, 0).ok());  // out of sequence
  EXPECT_FALSE(decode_slot_header(&h, 41, 2, 0).ok());   // more pages than a slot
  EXPECT_FALSE(decode_slot_header(&h, 41, 32, 4096).ok()); // short write
  h.pages.addr += 1;
  EXPECT_FALSE(decode_slot_header(&h, 41, 32, 0).ok());
}

TEST(SlotLayout, HeaderSitsRightBeforePageAlignedData) {
  SlotLayout l{32};
  EXPECT_EQ(l.stride(), 33u * 4096);
  for (uint32_t s : {0u, 1u, 7u}) {
    EXPECT_EQ(l.data_offset(s) % 4096, 0u);
    EXPECT_EQ(l.header_offset(s) + sizeof(SlotHeader), l.data_offset(s));
  }
  EXPECT_EQ(SlotLayout::write_length(2), 64u + 8192u);
  EXPECT_EQ(l.bytes(4), 4u * 33 * 4096);
}

TEST(Fragments, CountsAndReassembly) {
  EXPECT_EQ(fragment_payload(8192), 8192u - 32);
  EXPECT_EQ(fragment_count(0, 8192), 1u);
  EXPECT_EQ(fragment_count(8160, 8192), 1u);
  EXPECT_EQ(fragment_count(8161, 8192), 2u);
  EXPECT_EQ(fragment_count(10, 16), 0u); // a buffer too small for a header

  std::vector<uint8_t> msg(20000);
  for (size_t i = 0; i < msg.size(); i++)
    msg[i] = static_cast<uint8_t>(i * 7);
  uint32_t per = fragment_payload(4096);
  Reassembler r;
  std::optional<Reassembler::Message> out;
  for (uint32_t off = 0; off < msg.size(); off += per) {
    uint32_t n = std::min<uint32_t>(per, static_cast<uint32_t>(msg.size()) - off);
    bool more = off + n < msg.size();
    auto h = make_send_header(static_cast<uint16_t>(wire::Type::image), n, 20000, more);
    auto got = r.add(h, std::span<const uint8_t>(msg).subspan(off, n));
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->has_value(), !more);
    if (got->has_value())
      out = std::move(*got.value());
  }
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->type, static_cast<uint16_t>(wire::Type::image));
  EXPECT_EQ(out->payload, msg);
  EXPECT_TRUE(r.idle());
}

TEST(Fragments, BrokenSequencesAreErrors) {
  std::vector<uint8_t> part(100, 1);
  {
    Reassembler r;
    auto h = make_send_header(3, 100, 300, true);
    ASSERT_TRUE(r.add(h, part).ok());
    auto other = make_send_header(5, 100, 300, true); // another type mid-message
    EXPECT_FALSE(r.add(other, part).ok());
  }
  {
    Reassembler r;
    auto h = make_send_header(3, 100, 150, true);
    ASSERT_TRUE(r.add(h, part).ok());
    EXPECT_FALSE(r.add(make_send_header(3, 100, 150, false), part).ok()); // overruns
  }
  {
    Reassembler r;
    ASSERT_TRUE(r.add(make_send_header(3, 100, 300, true), part).ok());
    EXPECT_FALSE(r.add(make_send_header(3, 100, 300, false), part).ok()); // ends short
  }
  {
    Reassembler r(1000);
    EXPECT_FALSE(r.add(make_send_header(3, 100, 5000, true), part).ok()); // too large
  }
  {
    Reassembler r;
    EXPECT_FALSE(r.add(make_send_header(3, 100, 200, false), part).ok()); // announced more
  }
}

// ------------------------------------------------------------- addresses ----

TEST(CmAddress, SameSyntaxAsTcp) {
  auto a = cm_address("10.77.0.1:7000", false);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->family, AF_INET);
  auto *in = reinterpret_cast<const sockaddr_in *>(&a->addr);
  EXPECT_EQ(ntohs(in->sin_port), 7000);
  EXPECT_EQ(address_str(reinterpret_cast<const sockaddr *>(&a->addr)), "10.77.0.1:7000");

  auto b = cm_address("[fe80::1]:18515", false);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->family, AF_INET6);
  EXPECT_EQ(address_str(reinterpret_cast<const sockaddr *>(&b->addr)), "[fe80::1]:18515");
}

TEST(CmAddress, ListenMayAskForAnyPortConnectMayNot) {
  EXPECT_TRUE(cm_address("0.0.0.0:0", true).ok());
  auto c = cm_address("10.77.0.1:0", false);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, LMIG_ERR_INVALID_ARGUMENT);
}

TEST(CmAddress, MalformedAddressesSayWhy) {
  for (const char *bad : {"10.77.0.1", "::1:7000", ":7000", "host:port", "10.0.0.1:70000"}) {
    auto r = cm_address(bad, false);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, LMIG_ERR_INVALID_ARGUMENT) << bad;
  }
}

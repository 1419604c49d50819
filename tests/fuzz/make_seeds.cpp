// Writes the seed corpus of every harness from real encodings: images,
// trees and tree files (seed_images.cpp) and wire messages, made by the
// project's own encoders, streams of frames as a migration sends them, and
// handshakes recorded between two real ends. Each seed is decoded (a
// handshake completed, a certificate accepted) before it is written, so
// every one reaches past the checks at the door. Usage: make_seeds DIR
// (tests/fuzz/corpus); ninja target fuzz-seeds runs it there.
#include <sys/socket.h>
#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "engine/image/byte_codec.hpp"
#include "engine/image/image_codec.hpp"
#include "tests/fuzz/frame_stream_input.hpp"
#include "tests/fuzz/handshake_input.hpp"
#include "tests/fuzz/sealed_stream_input.hpp"
#include "tests/fuzz/seed_images.hpp"
#include "tests/fuzz/wire_selector.hpp"
#include "transport/secure/handshake.hpp"
#include "transport/wire.hpp"

namespace fs = std::filesystem;
using namespace lmig;

namespace {

using Bytes = std::vector<uint8_t>;

bool failed = false;
size_t written = 0, bytes_written = 0;

void write(const fs::path &dir, const std::string &name, const Bytes &bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", (dir / name).c_str());
    failed = true;
  }
  written++;
  bytes_written += bytes.size();
}

template <typename T> void expect_ok(const Result<T> &r, const std::string &what) {
  if (!r.ok()) {
    std::fprintf(stderr, "make_seeds: %s does not decode: %s\n", what.c_str(),
                 r.error().message.c_str());
    failed = true;
  }
}

// --- wire messages ------------------------------------------------------------

wire::Hello hello(wire::Role role, uint64_t session, std::string auth) {
  wire::Hello h;
  h.mode = 1;
  h.features = wire::kFeatureStopCopy | wire::kFeaturePostcopy;
  h.xfeatures = 0x2e7;
  h.xstate_size = 2696;
  h.kernel = "6.18.0-1-amd64";
  h.host = "source.example";
  h.auth = std::move(auth);
  h.session = session;
  h.role = role;
  if (role == wire::Role::control)
    h.memory_bytes = 96ull << 20;
  return h;
}

wire::Done done(uint32_t reason, int32_t exit_status) {
  wire::Done d;
  d.reason = reason;
  d.pages_demand = 312;
  d.pages_pushed = 65224;
  d.pages_zero = 1200;
  d.checksum_retries = reason;
  d.faults = 290;
  d.fault_p50_us = 17.5;
  d.fault_p99_us = 88.25;
  d.fault_max_us = 1312.0;
  for (int i = 0; i < wire::kHistogramBuckets; i++)
    d.histogram[i] = i < 12 ? static_cast<uint64_t>(1) << (12 - i) : 0;
  d.postcopy_ns = 1234567890;
  d.pages_prefetched = 96;
  d.exit_status = exit_status;
  return d;
}

wire::InventoryChunk inventory(bool last) {
  wire::InventoryChunk c;
  c.last = last;
  c.runs = {{0x555555558000ull, 1}, {0x555555580000ull, 0x21}, {0x7f0000101000ull, 0xff}};
  if (last)
    c.runs.push_back({0x7ffc0001e000ull, 3});
  return c;
}

wire::ErrorMsg error_msg() {
  wire::ErrorMsg e;
  e.code = LMIG_ERR_TARGET_FAILED;
  e.sys_errno = EEXIST;
  e.message = "restore: fd 9 (deleted): make /var/tmp/scratch: File exists";
  return e;
}

Bytes selected(fuzz::WireMessage m, const Bytes &payload) {
  Bytes b{static_cast<uint8_t>(m)};
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

void write_wire_messages(const fs::path &dir) {
  using fuzz::WireMessage;
  struct Seed {
    const char *name;
    WireMessage kind;
    Bytes payload;
  };
  wire::Running running;
  running.target_pid = 731;
  running.vpid = 4242;
  running.restore_ns = 41000000;
  wire::PageRequest request{0x7f0000101000ull, 16, 0};
  wire::PageRequest retry{0x555555580000ull, 1, wire::kRequestRetry};
  const std::vector<Seed> seeds = {
      {"hello-control", WireMessage::hello, wire::encode(hello(wire::Role::control, 0, ""))},
      {"hello-bulk", WireMessage::hello,
       wire::encode(hello(wire::Role::bulk, 0x1f2e3d4c5b6a7988ull, "shared secret"))},
      {"hello-demand-rdma", WireMessage::hello,
       wire::encode(hello(wire::Role::demand, 77, "s3cr3t"))},
      {"error", WireMessage::error, wire::encode(error_msg())},
      {"running", WireMessage::running, wire::encode(running)},
      {"page-request", WireMessage::page_request, wire::encode(request)},
      {"page-request-retry", WireMessage::page_request, wire::encode(retry)},
      {"done-all-pages", WireMessage::done, wire::encode(done(wire::kDoneAllPages, -1))},
      {"done-exited", WireMessage::done, wire::encode(done(wire::kDoneProcessExited, 3))},
      {"inventory", WireMessage::inventory, wire::encode(inventory(false))},
      {"inventory-last", WireMessage::inventory, wire::encode(inventory(true))},
  };
  for (const auto &s : seeds) {
    std::span<const uint8_t> p(s.payload);
    switch (s.kind) {
    case WireMessage::hello: expect_ok(wire::decode_hello(p), s.name); break;
    case WireMessage::error: expect_ok(wire::decode_error(p), s.name); break;
    case WireMessage::running: expect_ok(wire::decode_running(p), s.name); break;
    case WireMessage::page_request: expect_ok(wire::decode_page_request(p), s.name); break;
    case WireMessage::done: expect_ok(wire::decode_done(p), s.name); break;
    case WireMessage::inventory: expect_ok(wire::decode_inventory(p), s.name); break;
    case WireMessage::kCount: break;
    }
    write(dir, s.name, selected(s.kind, s.payload));
  }
}

// --- streams of frames ------------------------------------------------------

// A frame as it goes on the wire in clear.
Bytes framed(wire::Type type, const Bytes &payload) {
  wire::FrameHeader h{wire::kMagic, static_cast<uint16_t>(type), 0,
                      static_cast<uint32_t>(payload.size()), 0};
  Bytes b(sizeof h);
  std::memcpy(b.data(), &h, sizeof h);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

class Stream {
public:
  // cutting: how the harness writes this stream (frame_stream_input.hpp).
  explicit Stream(uint16_t cutting) : bytes_{uint8_t(cutting), uint8_t(cutting >> 8)} {}

  Stream &frame(wire::Type type, const Bytes &payload = {}) {
    last_ = bytes_.size();
    const Bytes f = framed(type, payload);
    return raw(f.data(), f.size());
  }
  enum class Check {
    xxh3,     // as on a channel in clear
    damaged,  // an xxh3 the pages do not match
    by_seal,  // as on a sealed channel: no xxh3, kPagesSealedNoChecksum
  };
  // One pages frame of npages patterned pages.
  Stream &pages(uint64_t addr, uint32_t npages, Check check = Check::xxh3) {
    Bytes data(static_cast<size_t>(npages) * 4096);
    for (size_t i = 0; i < data.size(); i++)
      data[i] = static_cast<uint8_t>((addr >> 12) + i / 64);
    wire::PagesHeader h{addr, npages, 0, XXH3_64bits(data.data(), data.size())};
    if (check == Check::damaged)
      h.xxh3 ^= 1;
    if (check == Check::by_seal)
      h = {addr, npages, wire::kPagesSealedNoChecksum, 0};
    Bytes payload(sizeof h);
    std::memcpy(payload.data(), &h, sizeof h);
    payload.insert(payload.end(), data.begin(), data.end());
    return frame(wire::Type::pages, payload);
  }
  // What the sealed_stream harness does to the last frame once sealed
  // (sealed_stream_input.hpp); the frame_stream harness takes it as is.
  Stream &damage(fuzz::Damage d, uint32_t where = 0) {
    const uint32_t todo = fuzz::instruction(d, where);
    std::memcpy(bytes_.data() + last_ + offsetof(wire::FrameHeader, reserved), &todo, sizeof todo);
    return *this;
  }
  Stream &raw(const void *p, size_t n) {
    auto *b = static_cast<const uint8_t *>(p);
    bytes_.insert(bytes_.end(), b, b + n);
    return *this;
  }
  const Bytes &bytes() const { return bytes_; }

private:
  Bytes bytes_;
  size_t last_ = 0; // where the last frame starts
};

// The same streams go to both stream harnesses: frame_stream reads them in
// clear, sealed_stream seals them first.
void write_frame_streams(const fs::path &root) {
  auto write_both = [&](const std::string &name, const Bytes &bytes) {
    write(root / "frame_stream", name, bytes);
    write(root / "sealed_stream", name, bytes);
  };
  const auto images = fuzz::seed_images();
  const auto trees = fuzz::seed_trees();
  const auto tree_files = fuzz::seed_tree_files();
  const Bytes minimal = encode_image(images.front().second);
  wire::Running running{731, 4242, 41000000};

  // A stop-copy migration as the target receives it.
  write_both("stop-copy", Stream(0x0001)
                              .frame(wire::Type::hello, wire::encode(hello(wire::Role::control, 0, "")))
                              .frame(wire::Type::image, minimal)
                              .pages(0x555555558000ull, 1)
                              .pages(0x555555580000ull, 2)
                              .frame(wire::Type::pages_end)
                              .frame(wire::Type::done, wire::encode(done(wire::kDoneAllPages, -1)))
                              .bytes());
  // The source's side of the control connection.
  write_both("source-control", Stream(0x0102)
                                   .frame(wire::Type::hello_ack,
                                          wire::encode(hello(wire::Role::control, 9, "")))
                                   .frame(wire::Type::ready)
                                   .frame(wire::Type::running, wire::encode(running))
                                   .frame(wire::Type::done,
                                          wire::encode(done(wire::kDoneProcessExited, 0)))
                                   .bytes());
  // Post-copy demand answers on the target: one damaged in transit, then the
  // source gives up.
  write_both("demand", Stream(0x0203)
                           .pages(0x7f0000101000ull, 1)
                           .pages(0x7f0000102000ull, 1, Stream::Check::damaged)
                           .pages(0x7f0000102000ull, 1)
                           .frame(wire::Type::error, wire::encode(error_msg()))
                           .bytes());
  // The source hears page requests on the same channel.
  write_both("page-requests", Stream(0x0304)
                                  .frame(wire::Type::page_request,
                                         wire::encode(wire::PageRequest{0x7f0000101000ull, 4, 0}))
                                  .frame(wire::Type::page_request,
                                         wire::encode(wire::PageRequest{0x555555580000ull, 1,
                                                                        wire::kRequestRetry}))
                                  .bytes());
  // The head of a post-copy bulk stream.
  write_both("bulk", Stream(0x0405)
                         .frame(wire::Type::hello, wire::encode(hello(wire::Role::bulk, 77, "")))
                         .frame(wire::Type::inventory, wire::encode(inventory(false)))
                         .frame(wire::Type::inventory, wire::encode(inventory(true)))
                         .pages(0x555555558000ull, 1)
                         .frame(wire::Type::pages_end)
                         .bytes());
  // A tree: its shape, its members' images, the files they share.
  write_both("tree", Stream(0x0506)
                         .frame(wire::Type::tree, encode_tree(trees.front().second))
                         .frame(wire::Type::image, minimal)
                         .frame(wire::Type::image, encode_image(images[4].second))
                         .frame(wire::Type::tree_files, encode_image(tree_files.front().second))
                         .bytes());
  // Frames, then bytes that are not lmig.
  const char garbage[] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
  write_both("then-garbage", Stream(0x0607)
                                 .frame(wire::Type::ready)
                                 .frame(wire::Type::running, wire::encode(running))
                                 .raw(garbage, sizeof garbage - 1)
                                 .bytes());
  // A frame larger than a receiver takes.
  wire::FrameHeader huge{wire::kMagic, static_cast<uint16_t>(wire::Type::pages), 0, 64u << 20, 0};
  write_both("oversized", Stream(0x0708).frame(wire::Type::ready).raw(&huge, sizeof huge).bytes());
  // A pages frame cut short by the close.
  Stream cut(0x0809);
  cut.pages(0x555555558000ull, 1);
  Bytes b = cut.bytes();
  b.resize(b.size() > 1000 ? b.size() - 1000 : 0); // (GCC 12 -O1 cannot tell it is larger)
  write_both("cut-short", b);

  // Pages as the page server sends them on a sealed channel, its seal
  // their only check; in clear, the same frames must not pass as intact.
  write_both("pages-by-seal", Stream(0x0e0f)
                                  .pages(0x7f0000101000ull, 1, Stream::Check::by_seal)
                                  .pages(0x7f0000102000ull, 2, Stream::Check::by_seal)
                                  .frame(wire::Type::pages_end)
                                  .bytes());

  // Sealed streams damaged on the way, as an attacker on the path would.
  const fs::path sealed = root / "sealed_stream";
  constexpr uint32_t kTagBit = (16 + 24 + 4096 + 16) * 8 - 1; // in a sealed page's tag
  constexpr uint32_t kLengthBit = 8 * 8 + 20;                 // in the header's length
  write(sealed, "flipped-tag", Stream(0x0a0b)
                                   .pages(0x7f0000101000ull, 1, Stream::Check::by_seal)
                                   .pages(0x7f0000102000ull, 1, Stream::Check::by_seal)
                                   .damage(fuzz::Damage::flip, kTagBit)
                                   .frame(wire::Type::error, wire::encode(error_msg()))
                                   .bytes());
  write(sealed, "flipped-length", Stream(0x0b0c)
                                      .frame(wire::Type::ready)
                                      .frame(wire::Type::running, wire::encode(running))
                                      .damage(fuzz::Damage::flip, kLengthBit)
                                      .frame(wire::Type::pages_end)
                                      .bytes());
  write(sealed, "dropped", Stream(0x0c0d)
                               .frame(wire::Type::inventory, wire::encode(inventory(false)))
                               .pages(0x555555558000ull, 1)
                               .damage(fuzz::Damage::drop)
                               .pages(0x555555580000ull, 1)
                               .frame(wire::Type::pages_end)
                               .bytes());
  write(sealed, "replayed", Stream(0x0d0e)
                                .frame(wire::Type::page_request,
                                       wire::encode(wire::PageRequest{0x7f0000101000ull, 4, 0}))
                                .damage(fuzz::Damage::replay)
                                .frame(wire::Type::page_request,
                                       wire::encode(wire::PageRequest{0x7f0000105000ull, 1, 0}))
                                .bytes());
}

// --- handshakes ---------------------------------------------------------------

// The payloads of a genuine handshake's three frames.
struct Recorded {
  Bytes init, reply, finish;
};

// A handshake between two real ends through a relay that keeps what each
// sends; both ends must succeed, or it is no genuine recording.
Recorded record_handshake(const std::string &what, const Bytes &key, wire::Role role,
                          bool cleartext, bool certs) {
  Recorded r;
  int a[2], b[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) != 0 ||
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b) != 0) {
    std::perror("make_seeds: socketpair");
    failed = true;
    return r;
  }
  Connection dialler = Connection::adopt(UniqueFd(a[0]), "relay");
  Connection from_dialler = Connection::adopt(UniqueFd(a[1]), "dialler");
  Connection to_listener = Connection::adopt(UniqueFd(b[0]), "listener");
  Connection listener = Connection::adopt(UniqueFd(b[1]), "relay");
  from_dialler.set_io_timeout(5000);
  to_listener.set_io_timeout(5000);
  CertAuth dial_certs, accept_certs;
  if (certs) {
    dial_certs = {fuzz::source_identity(), "target.example"};
    accept_certs = {fuzz::target_identity(), ""};
  }
  auto accepted = std::async(std::launch::async, [&] {
    const KeyLookup lookup = [&](wire::Role, uint64_t, bool) -> Result<Bytes> { return key; };
    return handshake_accept(listener, lookup, cleartext, 5000, accept_certs);
  });
  auto dialled = std::async(std::launch::async, [&] {
    return handshake_dial(dialler, key, role, 77, cleartext, 5000, dial_certs);
  });
  bool relayed = true;
  auto relay = [&](Connection &from, Connection &to, wire::Type type, Bytes &payload) {
    if (!relayed)
      return;
    auto t = from.recv(payload);
    relayed = t.ok() && *t == type && to.send(type, payload).ok();
  };
  relay(from_dialler, to_listener, wire::Type::auth_init, r.init);
  relay(to_listener, from_dialler, wire::Type::auth_reply, r.reply);
  relay(from_dialler, to_listener, wire::Type::auth_finish, r.finish);
  auto d = dialled.get();
  auto l = accepted.get();
  if (!relayed || !d.ok() || !l.ok()) {
    std::fprintf(stderr, "make_seeds: the %s handshake failed: %s\n", what.c_str(),
                 !d.ok()   ? d.error().message.c_str()
                 : !l.ok() ? l.error().message.c_str()
                           : "the relay lost a frame");
    failed = true;
  }
  return r;
}

Bytes handshake_seed(fuzz::HandshakePart part, uint8_t options, std::initializer_list<Bytes> rest) {
  Bytes b{static_cast<uint8_t>(part), options};
  for (const Bytes &piece : rest)
    b.insert(b.end(), piece.begin(), piece.end());
  return b;
}

// `b` with `n` bytes from `at` set to `v`.
Bytes patched(Bytes b, size_t at, size_t n, uint8_t v) {
  std::fill_n(b.begin() + static_cast<ptrdiff_t>(at), n, v);
  return b;
}

Bytes cut(Bytes b, size_t by) {
  b.resize(b.size() > by ? b.size() - by : 0);
  return b;
}

Bytes error_frame(lmig_status code, const std::string &message) {
  return framed(wire::Type::error,
                wire::encode(wire::ErrorMsg{static_cast<uint32_t>(code), 0, message}));
}

// Unlike the other seeds these come out different at every run (fresh
// ephemeral keys and nonces, ECDSA's random k), as real handshakes do: a
// rewrite of the corpus shows them changed when nothing else is.
void write_handshakes(const fs::path &dir) {
  using fuzz::HandshakePart;
  const Bytes key = fuzz::handshake_key();
  const Recorded certs = record_handshake("certificate", key, wire::Role::control, false, true);
  const Recorded psk = record_handshake("pre-shared key", key, wire::Role::control, false, false);
  const Recorded anonymous = record_handshake("anonymous", {}, wire::Role::control, false, false);
  const Recorded bulk = record_handshake("cleartext bulk", key, wire::Role::bulk, true, false);
  // Where the fields are: init is version, flags, role (u32 each), session
  // (u64), then the ephemeral key; a reply starts with flags, then its key.
  constexpr size_t kInitPub = 20, kReplyPub = 4, kPub = 32;

  auto listener = [&](const char *name, uint8_t options, std::initializer_list<Bytes> frames) {
    write(dir, std::string("listener-") + name,
          handshake_seed(HandshakePart::listener, options, frames));
  };
  auto init = [](const Recorded &r) { return framed(wire::Type::auth_init, r.init); };
  auto finish = [](const Recorded &r) { return framed(wire::Type::auth_finish, r.finish); };
  listener("certificate", fuzz::kHsCerts, {init(certs), finish(certs)});
  listener("psk", 0, {init(psk), finish(psk)});
  listener("anonymous", fuzz::kHsNoKey, {init(anonymous), finish(anonymous)});
  listener("cleartext-bulk", fuzz::kHsCleartext, {init(bulk), finish(bulk)});
  listener("cleartext-refused", 0, {init(bulk), finish(bulk)});
  listener("lookup-refuses", fuzz::kHsRefuse, {init(psk), finish(psk)});
  listener("shows-no-certificate", fuzz::kHsCerts, {init(psk), finish(psk)});
  listener("init-only", fuzz::kHsCerts, {init(certs)});
  listener("old-version", 0,
           {framed(wire::Type::auth_init, patched(psk.init, 0, 1, 1)), finish(psk)});
  listener("low-order-key", 0,
           {framed(wire::Type::auth_init, patched(psk.init, kInitPub, kPub, 0)), finish(psk)});
  listener("cut-init", 0, {cut(init(psk), 10)});
  listener("finish-chain-too-long", fuzz::kHsCerts,
           {init(certs), framed(wire::Type::auth_finish, patched(certs.finish, 0, 4, 0xff))});
  wire::FrameHeader huge{wire::kMagic, static_cast<uint16_t>(wire::Type::auth_init), 0, 1u << 20,
                         0};
  Bytes oversized(sizeof huge);
  std::memcpy(oversized.data(), &huge, sizeof huge);
  listener("oversized", 0, {oversized, psk.init});
  listener("hello-first", 0,
           {framed(wire::Type::hello, wire::encode(hello(wire::Role::control, 0, "")))});
  listener("error-first", 0, {error_frame(LMIG_ERR_TARGET_FAILED, "the source gives up")});

  auto dialler = [&](const char *name, uint8_t options, std::initializer_list<Bytes> frames) {
    write(dir, std::string("dialler-") + name,
          handshake_seed(HandshakePart::dialler, options, frames));
  };
  auto reply = [](const Recorded &r) { return framed(wire::Type::auth_reply, r.reply); };
  dialler("certificate", fuzz::kHsCerts | fuzz::kHsPeerName, {reply(certs)});
  dialler("psk", 0, {reply(psk)});
  dialler("anonymous", fuzz::kHsNoKey, {reply(anonymous)});
  dialler("cleartext-bulk", fuzz::kHsCleartext | fuzz::hs_role(wire::Role::bulk), {reply(bulk)});
  dialler("shows-no-certificate", fuzz::kHsCerts, {reply(psk)});
  dialler("low-order-key", 0,
          {framed(wire::Type::auth_reply, patched(psk.reply, kReplyPub, kPub, 0))});
  dialler("cut-reply", fuzz::kHsCerts, {cut(reply(certs), 40)});
  dialler("refused", 0,
          {error_frame(LMIG_ERR_INVALID_ARGUMENT,
                       "authentication failed: the source could not prove it holds this lmigd's "
                       "pre-shared key")});
  dialler("refused-in-silence", 0, {error_frame(LMIG_ERR_INVALID_ARGUMENT, "")});
  dialler("init-echoed", 0, {init(psk)});

  // verify_peer: the chains and signatures of the fixed certificates, each
  // seed checked as the harness checks it, to pass or to fail as its name
  // says.
  auto verify = [&](const char *name, uint8_t options, const Bytes &chain, const Bytes &msg,
                    const Bytes &sig, bool passes) {
    ByteWriter w;
    w.u32(static_cast<uint32_t>(chain.size()));
    w.raw(chain.data(), chain.size());
    w.u32(static_cast<uint32_t>(msg.size()));
    w.raw(msg.data(), msg.size());
    w.raw(sig.data(), sig.size());
    const bool source = options & fuzz::kVpSource;
    const auto &checker = source ? fuzz::target_identity() : fuzz::source_identity();
    auto who = checker->verify_peer(chain, msg, sig, source ? PeerEnd::source : PeerEnd::target,
                                    fuzz::vp_name_of(options));
    if (who.ok() != passes) {
      std::fprintf(stderr, "make_seeds: verify_peer seed %s %s\n", name,
                   passes ? ("is refused: " + who.error().message).c_str() : "passes");
      failed = true;
    }
    write(dir, std::string("verify-") + name,
          handshake_seed(HandshakePart::verify_peer, options, {w.take()}));
  };
  auto signature = [](const CertIdentity &id, const Bytes &msg) {
    auto sig = id.sign(msg);
    expect_ok(sig, "a signature by " + id.subject());
    return sig.ok() ? *sig : Bytes{};
  };
  const auto &target = *fuzz::target_identity();
  const auto &source = *fuzz::source_identity();
  const auto with_ca =
      fuzz::load_identity(std::string(fuzz::kTargetCertPem) + fuzz::kCaPem, fuzz::kTargetKeyPem);
  const Bytes msg = certs.init; // any bytes: verify_peer takes the message as given
  const Bytes by_target = signature(target, msg), by_source = signature(source, msg);
  verify("target", fuzz::vp_name(1), target.chain(), msg, by_target, true);
  verify("target-by-address", fuzz::vp_name(2), target.chain(), msg, by_target, true);
  verify("target-unnamed", fuzz::vp_name(0), target.chain(), msg, by_target, true);
  verify("target-with-ca", fuzz::vp_name(1), with_ca->chain(), msg, signature(*with_ca, msg), true);
  verify("source", fuzz::kVpSource, source.chain(), msg, by_source, true);
  verify("target-as-source", fuzz::kVpSource, target.chain(), msg, by_target, false);
  verify("source-as-target", 0, source.chain(), msg, by_source, false);
  verify("other-name", fuzz::vp_name(3), target.chain(), msg, by_target, false);
  verify("other-address", fuzz::vp_name(4), target.chain(), msg, by_target, false);
  verify("signed-by-another", fuzz::vp_name(1), target.chain(), msg, by_source, false);
  verify("message-changed", fuzz::vp_name(1), target.chain(), patched(msg, 0, 1, 0x7f), by_target,
         false);
  // The chain's own encoding: a count, then each certificate's length and DER.
  const Bytes der(target.chain().begin() + 8, target.chain().end());
  ByteWriter five;
  five.u32(5);
  for (int i = 0; i < 5; i++) {
    five.u32(static_cast<uint32_t>(der.size()));
    five.raw(der.data(), der.size());
  }
  verify("too-many-certificates", fuzz::vp_name(1), five.take(), msg, by_target, false);
  ByteWriter short_der;
  short_der.u32(1);
  short_der.u32(static_cast<uint32_t>(der.size() - 20));
  short_der.raw(der.data(), der.size() - 20);
  verify("cut-certificate", fuzz::vp_name(1), short_der.take(), msg, by_target, false);
}

void write_images(const fs::path &root) {
  for (const auto &[name, im] : fuzz::seed_images()) {
    const Bytes bytes = encode_image(im);
    auto back = decode_image(bytes);
    expect_ok(back, "image " + name);
    if (back.ok() && !(*back == im)) {
      std::fprintf(stderr, "make_seeds: image %s changes through its encoding\n", name.c_str());
      failed = true;
    }
    write(root / "image", name, bytes);
  }
  for (const auto &[name, files] : fuzz::seed_tree_files()) {
    const Bytes bytes = encode_image(files);
    expect_ok(decode_tree_files(bytes), "tree files " + name);
    write(root / "tree_files", name, bytes);
  }
  for (const auto &[name, tree] : fuzz::seed_trees()) {
    const Bytes bytes = encode_tree(tree);
    expect_ok(decode_tree(bytes), "tree " + name);
    write(root / "tree", name, bytes);
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  write_images(root);
  write_wire_messages(root / "wire_messages");
  write_frame_streams(root);
  write_handshakes(root / "handshake");
  std::printf("make_seeds: %zu seeds, %zu bytes, in %s\n", written, bytes_written, root.c_str());
  return failed ? 1 : 0;
}

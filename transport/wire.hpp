// The lmig wire protocol: framed messages, the same over every transport.
// A frame is a 16-byte header (magic, type, flags, payload length) and a
// payload. Page frames carry a PagesHeader (address, count, xxh3-64 of the
// data) followed by the page data.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig::wire {

inline constexpr uint32_t kMagic = 0x4c4d4731; // "LMG1"
inline constexpr uint32_t kProtocolVersion = 3; // 2: process trees; 3: exit status in done
inline constexpr uint32_t kMaxPayload = 256u << 20;
// The longest strings a hello may carry, and an error message.
inline constexpr uint32_t kMaxHelloKernel = 256;
inline constexpr uint32_t kMaxHelloHost = 256;
inline constexpr uint32_t kMaxHelloAuth = 1024;
inline constexpr uint32_t kMaxErrorMessage = 4096;
// The largest frame a connection may send before its hello is accepted: the
// hello with its longest strings is about 1.6 KiB, so this leaves room for
// fields to come while a peer nobody has checked yet costs us little.
inline constexpr uint32_t kMaxHelloPayload = 16u << 10;
static_assert(kMaxHelloPayload >= 4 + 4 + 8 + 8 + 4 + 4 + kMaxHelloKernel + 4 + kMaxHelloHost +
                                      4 + kMaxHelloAuth + 8 + 4,
              "a hello with its longest strings must fit");
inline constexpr uint32_t kMaxPagesPerFrame = 1024; // 4 MiB

enum class Type : uint16_t {
  hello = 1,      // source -> target: Hello
  hello_ack = 2,  // target -> source: Hello (the target's side)
  image = 3,      // source -> target: encoded ProcessImage
  ready = 4,      // target -> source: restored layout is ready for pages
  pages = 5,      // either way: PagesHeader + data
  pages_end = 6,  // source -> target: every page has been sent (stop-copy)
  running = 7,    // target -> source: Running
  done = 8,       // source -> target: the source copy is gone
  error = 9,      // either way: Error; the sender gives up
  page_request = 10,   // target -> source: PageRequest
  inventory = 11,      // source -> target, post-copy, at the head of the bulk stream: page runs
  tree = 12,           // source -> target, before the images of a process tree: ProcessTree
  tree_files = 13,     // source -> target, after them: the open files its members share
  // The handshake that opens every connection (transport/secure/handshake.hpp).
  auth_init = 14,      // dialler -> listener
  auth_reply = 15,     // listener -> dialler
  auth_finish = 16,    // dialler -> listener
};

const char *type_name(Type t);

struct FrameHeader {
  uint32_t magic;
  uint16_t type;
  uint16_t flags;
  uint32_t length;
  uint32_t reserved;
};
static_assert(sizeof(FrameHeader) == 16);
// flags: the payload is sealed (AES-256-GCM) and ends with its tag
// (transport/secure/frame_cipher.hpp).
inline constexpr uint16_t kFrameSealed = 1;

struct PagesHeader {
  uint64_t addr;
  uint32_t npages;
  uint32_t flags;
  uint64_t xxh3;
};
static_assert(sizeof(PagesHeader) == 24);
// PagesHeader.flags: no xxh3 was taken (xxh3 is 0): the frame is sealed, and
// its authentication tag covers the pages. Taken only from a sealed frame.
inline constexpr uint32_t kPagesSealedNoChecksum = 1u << 31; // high: low bits are free for a run's own use

// Whether a pages frame's data is as its sender had it: by its xxh3, or by
// the seal of the frame that carried it.
bool pages_intact(const PagesHeader &h, const uint8_t *data, size_t len, bool sealed);

enum Feature : uint64_t {
  kFeatureStopCopy = 1u << 0,
  kFeaturePostcopy = 1u << 1,
  // Source: it will open its post-copy channels over RDMA. Target: it
  // accepts them (an RDMA listener on the same HOST:PORT).
  kFeatureRdma = 1u << 2,
};

// What a connection is for, said in its hello.
enum class Role : uint32_t {
  control = 0,          // a new migration; in post-copy also the demand channel
  bulk = 1,             // post-copy: the background push of a session
  control_reconnect = 2,
  bulk_reconnect = 3,
  demand = 4, // post-copy over RDMA: the demand channel, apart from the control connection
};

struct PageRequest {
  uint64_t addr = 0;
  uint32_t npages = 0;
  uint32_t flags = 0; // kRequestRetry
};
inline constexpr uint32_t kRequestRetry = 1;

inline constexpr int kHistogramBuckets = 24;

// The target's closing word in post-copy: every page is in (or the process
// ended), with what it saw.
struct Done {
  uint32_t reason = 0; // kDoneAllPages or kDoneProcessExited
  uint64_t pages_demand = 0, pages_pushed = 0, pages_zero = 0, checksum_retries = 0;
  uint64_t faults = 0;
  double fault_p50_us = 0, fault_p99_us = 0, fault_max_us = 0;
  uint64_t histogram[kHistogramBuckets] = {};
  uint64_t postcopy_ns = 0; // from the process running to the last page
  uint64_t pages_prefetched = 0;
  int32_t exit_status = -1; // kDoneProcessExited: the status it exited with
};
inline constexpr uint32_t kDoneAllPages = 0;
inline constexpr uint32_t kDoneProcessExited = 1;

struct Hello {
  uint32_t version = kProtocolVersion;
  uint32_t mode = 0;          // lmig_mode the source asks for
  uint64_t features = 0;
  uint64_t xfeatures = 0;     // XCR0 of the sender
  uint32_t xstate_size = 0;   // bytes of the XSAVE area the sender's kernel uses
  std::string kernel;         // uname release
  std::string host;
  std::string auth;           // an RDMA channel's proof of its migration (channel_proof.hpp)
  uint64_t session = 0;       // post-copy: ties the bulk connection to its migration
  Role role = Role::control;
  uint64_t memory_bytes = 0;  // source, control: resident memory the target must hold
};

struct ErrorMsg {
  uint32_t code = 0;  // lmig_status
  int32_t sys_errno = 0;
  std::string message;
};

struct Running {
  int32_t target_pid = 0; // in the target lmigd's PID namespace
  int32_t vpid = 0;       // as the process sees itself
  uint64_t restore_ns = 0;
};

std::vector<uint8_t> encode(const Hello &m);
std::vector<uint8_t> encode(const ErrorMsg &m);
std::vector<uint8_t> encode(const Running &m);
std::vector<uint8_t> encode(const PageRequest &m);
std::vector<uint8_t> encode(const Done &m);

// The source's pages in post-copy, sent after the switchover in frames of
// at most kInventoryRunsPerFrame runs; `last` closes it.
inline constexpr size_t kInventoryRunsPerFrame = 65536;
struct InventoryChunk {
  bool last = false;
  std::vector<std::pair<uint64_t, uint64_t>> runs; // (addr, npages)
};
std::vector<uint8_t> encode(const InventoryChunk &m);
Result<InventoryChunk> decode_inventory(std::span<const uint8_t> p);
Result<Hello> decode_hello(std::span<const uint8_t> p);
Result<ErrorMsg> decode_error(std::span<const uint8_t> p);
Result<Running> decode_running(std::span<const uint8_t> p);
Result<PageRequest> decode_page_request(std::span<const uint8_t> p);
Result<Done> decode_done(std::span<const uint8_t> p);

// Turns a peer's Error message into an Error on that side (its text made
// printable: it is the peer's word, and ends up in logs).
Error peer_error(const ErrorMsg &m, Side side);

} // namespace lmig::wire

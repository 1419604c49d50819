#include "transport/wire.hpp"

#include <xxhash.h>

#include <cstring>

#include "engine/base/printable.hpp"
#include "engine/image/byte_codec.hpp"

namespace lmig::wire {

const char *type_name(Type t) {
  switch (t) {
  case Type::hello: return "hello";
  case Type::hello_ack: return "hello-ack";
  case Type::image: return "image";
  case Type::ready: return "ready";
  case Type::pages: return "pages";
  case Type::pages_end: return "pages-end";
  case Type::running: return "running";
  case Type::done: return "done";
  case Type::error: return "error";
  case Type::page_request: return "page-request";
  case Type::inventory: return "inventory";
  case Type::tree: return "tree";
  case Type::tree_files: return "tree files";
  case Type::auth_init: return "auth init";
  case Type::auth_reply: return "auth reply";
  case Type::auth_finish: return "auth finish";
  }
  return "unknown";
}

std::vector<uint8_t> encode(const Hello &m) {
  ByteWriter w;
  w.u32(m.version);
  w.u32(m.mode);
  w.u64(m.features);
  w.u64(m.xfeatures);
  w.u32(m.xstate_size);
  w.str(m.kernel);
  w.str(m.host);
  w.str(m.auth);
  w.u64(m.session);
  w.u32(static_cast<uint32_t>(m.role));
  w.u64(m.memory_bytes);
  return w.take();
}

std::vector<uint8_t> encode(const ErrorMsg &m) {
  ByteWriter w;
  w.u32(m.code);
  w.i32(m.sys_errno);
  w.str(m.message);
  return w.take();
}

std::vector<uint8_t> encode(const Running &m) {
  ByteWriter w;
  w.i32(m.target_pid);
  w.i32(m.vpid);
  w.u64(m.restore_ns);
  return w.take();
}

std::vector<uint8_t> encode(const PageRequest &m) {
  ByteWriter w;
  w.u64(m.addr);
  w.u32(m.npages);
  w.u32(m.flags);
  return w.take();
}

bool pages_intact(const PagesHeader &h, const uint8_t *data, size_t len, bool sealed) {
  if (h.flags & kPagesSealedNoChecksum)
    return sealed;
  return XXH3_64bits(data, len) == h.xxh3;
}

std::vector<uint8_t> encode(const Done &m) {
  ByteWriter w;
  w.u32(m.reason);
  for (uint64_t v : {m.pages_demand, m.pages_pushed, m.pages_zero, m.checksum_retries, m.faults})
    w.u64(v);
  for (double v : {m.fault_p50_us, m.fault_p99_us, m.fault_max_us}) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    w.u64(bits);
  }
  for (uint64_t v : m.histogram)
    w.u64(v);
  w.u64(m.postcopy_ns);
  w.u64(m.pages_prefetched);
  w.u32(static_cast<uint32_t>(m.exit_status));
  return w.take();
}

namespace {
Error malformed(const char *what, const ByteReader &r) {
  return make_error(LMIG_ERR_PROTOCOL, std::string("malformed ") + what + " message: " + r.why());
}
} // namespace

Result<Hello> decode_hello(std::span<const uint8_t> p) {
  ByteReader r(p);
  Hello m;
  m.version = r.u32();
  m.mode = r.u32();
  m.features = r.u64();
  m.xfeatures = r.u64();
  m.xstate_size = r.u32();
  m.kernel = r.str(kMaxHelloKernel);
  m.host = r.str(kMaxHelloHost);
  m.auth = r.str(kMaxHelloAuth);
  m.session = r.u64();
  uint32_t role = r.u32();
  if (role > static_cast<uint32_t>(Role::demand))
    r.fail("unknown role " + std::to_string(role));
  m.role = static_cast<Role>(role);
  m.memory_bytes = r.u64();
  if (r.failed())
    return malformed("hello", r);
  return m;
}

Result<ErrorMsg> decode_error(std::span<const uint8_t> p) {
  ByteReader r(p);
  ErrorMsg m;
  m.code = r.u32();
  m.sys_errno = r.i32();
  m.message = r.str(kMaxErrorMessage);
  if (r.failed())
    return malformed("error", r);
  if (m.code == 0 || m.code > LMIG_ERR_INTERNAL)
    m.code = LMIG_ERR_PROTOCOL;
  return m;
}

Result<Running> decode_running(std::span<const uint8_t> p) {
  ByteReader r(p);
  Running m;
  m.target_pid = r.i32();
  m.vpid = r.i32();
  m.restore_ns = r.u64();
  if (r.failed())
    return malformed("running", r);
  return m;
}

Error peer_error(const ErrorMsg &m, Side side) {
  // A peer that gives no reason still gets named as the one that refused.
  Error e = make_error(static_cast<lmig_status>(m.code),
                       m.message.empty() ? std::string("the peer refused without a reason")
                                         : printable(m.message, kMaxErrorMessage),
                       m.sys_errno);
  e.side = side;
  return e;
}

} // namespace lmig::wire

namespace lmig::wire {

Result<PageRequest> decode_page_request(std::span<const uint8_t> p) {
  ByteReader r(p);
  PageRequest m;
  m.addr = r.u64();
  m.npages = r.u32();
  m.flags = r.u32();
  if (r.failed())
    return malformed("page request", r);
  if (m.addr % 4096 || m.npages == 0 || m.npages > kMaxPagesPerFrame)
    return make_error(LMIG_ERR_PROTOCOL, "page request out of range");
  return m;
}

Result<Done> decode_done(std::span<const uint8_t> p) {
  ByteReader r(p);
  Done m;
  m.reason = r.u32();
  for (uint64_t *v : {&m.pages_demand, &m.pages_pushed, &m.pages_zero, &m.checksum_retries,
                      &m.faults})
    *v = r.u64();
  for (double *v : {&m.fault_p50_us, &m.fault_p99_us, &m.fault_max_us}) {
    uint64_t bits = r.u64();
    std::memcpy(v, &bits, sizeof bits);
  }
  for (auto &v : m.histogram)
    v = r.u64();
  m.postcopy_ns = r.u64();
  m.pages_prefetched = r.u64();
  m.exit_status = static_cast<int32_t>(r.u32());
  if (r.failed())
    return malformed("done", r);
  if (m.exit_status < -1 || m.exit_status > 255)
    return make_error(LMIG_ERR_PROTOCOL, "malformed done message: exit status " +
                                             std::to_string(m.exit_status));
  return m;
}

} // namespace lmig::wire

namespace lmig::wire {

std::vector<uint8_t> encode(const InventoryChunk &m) {
  ByteWriter w;
  w.u8(m.last ? 1 : 0);
  w.u32(static_cast<uint32_t>(m.runs.size()));
  for (const auto &[addr, n] : m.runs) {
    w.u64(addr);
    w.u64(n);
  }
  return w.take();
}

Result<InventoryChunk> decode_inventory(std::span<const uint8_t> p) {
  ByteReader r(p);
  InventoryChunk m;
  m.last = r.boolean();
  uint32_t n = r.count(16, kInventoryRunsPerFrame);
  m.runs.reserve(n);
  for (uint32_t i = 0; i < n && !r.failed(); i++) {
    uint64_t addr = r.u64(), pages = r.u64();
    if (addr % 4096 || pages == 0 || pages > (1ull << 36))
      r.fail("inventory run out of range");
    m.runs.emplace_back(addr, pages);
  }
  if (r.failed())
    return malformed("inventory", r);
  return m;
}

} // namespace lmig::wire

#include "transport/wire.hpp"

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
  m.kernel = r.str(256);
  m.host = r.str(256);
  m.auth = r.str(1024);
  if (r.failed())
    return malformed("hello", r);
  return m;
}

Result<ErrorMsg> decode_error(std::span<const uint8_t> p) {
  ByteReader r(p);
  ErrorMsg m;
  m.code = r.u32();
  m.sys_errno = r.i32();
  m.message = r.str(4096);
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
  Error e = make_error(static_cast<lmig_status>(m.code), m.message, m.sys_errno);
  e.side = side;
  return e;
}

} // namespace lmig::wire

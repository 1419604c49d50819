// Every decode_* of transport/wire.hpp on hostile payloads (the first byte
// picks the message: wire_selector.hpp). A refusal is a protocol error,
// never a crash; what is accepted encodes to bytes that decode to the same
// message again (re-encoding is a fixed point), and a peer's error keeps a
// code the C API knows.
#include <span>

#include "tests/fuzz/fuzz_target.hpp"
#include "tests/fuzz/wire_selector.hpp"
#include "transport/wire.hpp"

namespace {

using namespace lmig;

template <typename Decode> void round_trip(std::span<const uint8_t> payload, Decode decode) {
  auto m = decode(payload);
  if (!m.ok()) {
    fuzz::check(m.error().code == LMIG_ERR_PROTOCOL, "a decoder failed with another code");
    return;
  }
  const auto bytes = wire::encode(*m);
  auto again = decode(std::span<const uint8_t>(bytes));
  fuzz::check(again.ok(), "a decoded message does not decode once encoded again");
  fuzz::check(wire::encode(*again) == bytes, "a decoded message changes when encoded again");
}

void peer_error(std::span<const uint8_t> payload) {
  auto m = wire::decode_error(payload);
  if (!m.ok())
    return;
  fuzz::check(m->code > LMIG_OK && m->code <= LMIG_ERR_INTERNAL,
              "a peer's error carries a code the C API does not know");
  const Error e = wire::peer_error(*m, Side::target);
  fuzz::check(e.code == static_cast<lmig_status>(m->code) && e.side == Side::target,
              "peer_error lost the code or the side");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  using namespace lmig;
  using fuzz::WireMessage;
  const std::span<const uint8_t> payload(data + 1, size - 1);
  switch (static_cast<WireMessage>(data[0] % static_cast<uint8_t>(WireMessage::kCount))) {
  case WireMessage::hello: round_trip(payload, wire::decode_hello); break;
  case WireMessage::error:
    round_trip(payload, wire::decode_error);
    peer_error(payload);
    break;
  case WireMessage::running: round_trip(payload, wire::decode_running); break;
  case WireMessage::page_request: round_trip(payload, wire::decode_page_request); break;
  case WireMessage::done: round_trip(payload, wire::decode_done); break;
  case WireMessage::inventory: round_trip(payload, wire::decode_inventory); break;
  case WireMessage::kCount: break;
  }
  return 0;
}

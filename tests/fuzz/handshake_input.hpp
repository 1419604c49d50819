// How the handshake harness reads its input, and the fixed PKI it and
// make_seeds share: a CA, a target certificate it signed (fit for a
// server, naming target.example and 127.0.0.1) and a source certificate
// (fit for a client, naming nothing), EC P-256, valid 2020 to 9999. The
// text is fixed rather than made at startup so that the chains and
// signatures make_seeds records verify in every later process; the keys
// are test keys and protect nothing.
//
// Input: byte 0 picks the part (modulo kCount), byte 1 holds the options
// below, the rest is the part's own (see handshake.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_target.hpp"
#include "transport/secure/certificates.hpp"
#include "transport/wire.hpp"

namespace lmig::fuzz {

enum class HandshakePart : uint8_t { listener, dialler, verify_peer, kCount };

// Options, byte 1. The listener and the dialler:
inline constexpr uint8_t kHsCerts = 1 << 0;     // certificate mode
inline constexpr uint8_t kHsCleartext = 1 << 1; // the listener allows it, the dialler asks for it
inline constexpr uint8_t kHsNoKey = 1 << 2;     // the key is empty: anonymous
inline constexpr uint8_t kHsRefuse = 1 << 3;    // the listener's lookup refuses the dialler
inline constexpr uint8_t kHsPeerName = 1 << 3;  // the dialler wants target.example
// The dialler's role: bits 4-6, modulo the roles there are.
inline constexpr uint8_t hs_role(wire::Role r) { return static_cast<uint8_t>(r) << 4; }
inline wire::Role hs_role_of(uint8_t options) {
  return static_cast<wire::Role>((options >> 4 & 7) %
                                 (static_cast<uint32_t>(wire::Role::demand) + 1));
}
// verify_peer: bit 0 says the peer is the source (else the target), bits
// 1-7 pick the name it must carry (modulo the names).
inline constexpr uint8_t kVpSource = 1 << 0;
inline const std::vector<std::string> &vp_names() {
  static const std::vector<std::string> n = {"", "target.example", "127.0.0.1", "other.example",
                                             "::1"};
  return n;
}
inline uint8_t vp_name(size_t index) { return static_cast<uint8_t>(index << 1); }
inline const std::string &vp_name_of(uint8_t options) {
  return vp_names()[(options >> 1) % vp_names().size()];
}

// The key both ends hold when the input gives one.
inline std::vector<uint8_t> handshake_key() {
  std::vector<uint8_t> k(32);
  for (size_t i = 0; i < k.size(); i++)
    k[i] = static_cast<uint8_t>(0x3c + i * 7);
  return k;
}

inline constexpr const char *kCaPem = R"(-----BEGIN CERTIFICATE-----
MIIBYDCCAQegAwIBAgIBATAKBggqhkjOPQQDAjAXMRUwEwYDVQQDDAxsbWlnIGZ1
enogQ0EwIBcNMjAwMTAxMDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMBcxFTATBgNV
BAMMDGxtaWcgZnV6eiBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFYebfRx
cS1jSf+FrBv/Sjmah5rrhiKJDGnJe62mdBr14ib3xbErMA0PYlv/lZaN5i6rIgrJ
sxH+v0kC7ClQjB+jQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEG
MB0GA1UdDgQWBBQy2L59tiIs7XbJUKmftlZAQV/mZTAKBggqhkjOPQQDAgNHADBE
AiB7oeW+FibLOqiRYqufMmjWAONcmE9G8bZINk/WvI0lrAIgTHvvJDg/TrPGovyF
aCB2JXOaPNt4veecSXfSFr0Pqrc=
-----END CERTIFICATE-----
)";

inline constexpr const char *kTargetCertPem = R"(-----BEGIN CERTIFICATE-----
MIIBvDCCAWGgAwIBAgIBAjAKBggqhkjOPQQDAjAXMRUwEwYDVQQDDAxsbWlnIGZ1
enogQ0EwIBcNMjAwMTAxMDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMBsxGTAXBgNV
BAMMEGxtaWcgZnV6eiB0YXJnZXQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATy
r82/5XXIG6o8A/hsjs1lY1xTjMricwygga+wqwj1RgiW4A5gl78Og68gpKdmpVVW
P3l0CpvFNwOqn90eYBd0o4GXMIGUMAwGA1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQD
AgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB8GA1UdEQQYMBaCDnRhcmdldC5leGFt
cGxlhwR/AAABMB8GA1UdIwQYMBaAFDLYvn22IiztdslQqZ+2VkBBX+ZlMB0GA1Ud
DgQWBBQDKv4/hADwhA9Cu/AWEK+o2sjoKDAKBggqhkjOPQQDAgNJADBGAiEA5v8K
4IkwjpjozgVtT1SxFV+RR7DPbaHfGTcJjzXTOtECIQDuoju5ydgJ+796xq//m30i
eBq1GSp93O0cBr5o6MWQ6A==
-----END CERTIFICATE-----
)";

inline constexpr const char *kTargetKeyPem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGw7kjqLZoPfvKFZ4
HZsJfpb7RJHusJo64sf2dSVAd8yhRANCAATyr82/5XXIG6o8A/hsjs1lY1xTjMri
cwygga+wqwj1RgiW4A5gl78Og68gpKdmpVVWP3l0CpvFNwOqn90eYBd0
-----END PRIVATE KEY-----
)";

inline constexpr const char *kSourceCertPem = R"(-----BEGIN CERTIFICATE-----
MIIBlzCCAT6gAwIBAgIBAzAKBggqhkjOPQQDAjAXMRUwEwYDVQQDDAxsbWlnIGZ1
enogQ0EwIBcNMjAwMTAxMDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMBsxGTAXBgNV
BAMMEGxtaWcgZnV6eiBzb3VyY2UwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATs
1lSKum1rL/BgsZ6ghp9wDb1LmnXj5KFDKgAxePUs40E6FE9ocaxkTX4EduB3A7z9
2+cfTwjer/XmF1jR8iowo3UwczAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIH
gDATBgNVHSUEDDAKBggrBgEFBQcDAjAfBgNVHSMEGDAWgBQy2L59tiIs7XbJUKmf
tlZAQV/mZTAdBgNVHQ4EFgQU+ira3xIl4LVrrYIUNyhp6rKB0fowCgYIKoZIzj0E
AwIDRwAwRAIhAJV1zhgoPKO1LlICkmNY4OQmW/oOGceun9X/Q1wDKmegAh80K6jY
srWqbTTOSHolIqFGxAHN//MHhGvg8xAMh6wH
-----END CERTIFICATE-----
)";

inline constexpr const char *kSourceKeyPem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglEprYRIgxxL1vh1k
bFG19W7kPmNye/EcrGEvt69cqkOhRANCAATs1lSKum1rL/BgsZ6ghp9wDb1LmnXj
5KFDKgAxePUs40E6FE9ocaxkTX4EduB3A7z92+cfTwjer/XmF1jR8iow
-----END PRIVATE KEY-----
)";

inline std::shared_ptr<const CertIdentity> load_identity(const std::string &cert_pem,
                                                         const char *key_pem) {
  CertSource src;
  src.cert_pem = cert_pem;
  src.key_pem = key_pem;
  src.ca_pem = kCaPem;
  auto id = CertIdentity::load(src);
  check(id.ok(), "the fixed certificates do not load");
  return *id;
}

// Loaded once: each takes a few parses, and the harness runs per input.
inline const std::shared_ptr<const CertIdentity> &target_identity() {
  static const auto id = load_identity(kTargetCertPem, kTargetKeyPem);
  return id;
}
inline const std::shared_ptr<const CertIdentity> &source_identity() {
  static const auto id = load_identity(kSourceCertPem, kSourceKeyPem);
  return id;
}

} // namespace lmig::fuzz

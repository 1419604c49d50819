#include "transport/secure/channel_proof.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>

namespace lmig {
namespace {

constexpr size_t kNonce = 16, kMac = 32;

std::array<uint8_t, kMac> mac_of(const Key &secret, const uint8_t *nonce, uint64_t session,
                                 wire::Role role) {
  uint8_t msg[32 + kNonce] = "lmig rdma channel";
  size_t at = 18;
  std::memcpy(msg + at, &session, sizeof session);
  at += sizeof session;
  const uint32_t r = static_cast<uint32_t>(role);
  std::memcpy(msg + at, &r, sizeof r);
  at += sizeof r;
  std::memcpy(msg + at, nonce, kNonce);
  at += kNonce;
  std::array<uint8_t, kMac> m{};
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), msg, at, m.data(), &len);
  return m;
}

std::string hex(const uint8_t *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

bool unhex(const std::string &s, uint8_t *out, size_t n) {
  if (s.size() != 2 * n)
    return false;
  auto v = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (size_t i = 0; i < n; i++) {
    int hi = v(s[2 * i]), lo = v(s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

} // namespace

std::string make_channel_proof(const Key &secret, uint64_t session, wire::Role role) {
  uint8_t nonce[kNonce];
  RAND_bytes(nonce, sizeof nonce);
  const auto m = mac_of(secret, nonce, session, role);
  return hex(nonce, kNonce) + hex(m.data(), m.size());
}

Status check_channel_proof(const std::string &proof, const Key &secret, uint64_t session,
                           wire::Role role, std::string &nonce) {
  uint8_t raw[kNonce + kMac];
  if (!unhex(proof, raw, sizeof raw))
    return make_error(LMIG_ERR_INVALID_ARGUMENT,
                      "authentication failed: the RDMA link carries no proof of its migration");
  const auto m = mac_of(secret, raw, session, role);
  if (CRYPTO_memcmp(m.data(), raw + kNonce, kMac) != 0)
    return make_error(LMIG_ERR_INVALID_ARGUMENT,
                      "authentication failed: the RDMA link could not prove it belongs to its "
                      "migration");
  nonce = proof.substr(0, 2 * kNonce);
  return {};
}

} // namespace lmig

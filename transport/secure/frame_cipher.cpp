#include "transport/secure/frame_cipher.hpp"

#include <openssl/evp.h>

#include <cstring>

namespace lmig {
namespace {

std::array<uint8_t, 12> nonce_of(uint64_t counter) {
  std::array<uint8_t, 12> n{};
  for (int i = 0; i < 8; i++)
    n[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
  return n;
}

Error crypto_error(const char *what) {
  return make_error(LMIG_ERR_INTERNAL, std::string("AES-256-GCM: ") + what + " failed");
}

} // namespace

struct FrameSealer::Ctx {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  ~Ctx() { EVP_CIPHER_CTX_free(c); }
};
struct FrameOpener::Ctx {
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  ~Ctx() { EVP_CIPHER_CTX_free(c); }
};

FrameSealer::FrameSealer(const Key &key) : ctx_(new Ctx) {
  EVP_EncryptInit_ex(ctx_->c, EVP_aes_256_gcm(), nullptr, key.data(), nullptr);
}
FrameSealer::~FrameSealer() = default;

FrameOpener::FrameOpener(const Key &key) : ctx_(new Ctx) {
  EVP_DecryptInit_ex(ctx_->c, EVP_aes_256_gcm(), nullptr, key.data(), nullptr);
}
FrameOpener::~FrameOpener() = default;

// Marks the header sealed, counts the tag in its length, and starts the
// frame's encryption with the header as associated data.
Status FrameSealer::begin(wire::FrameHeader &h) {
  h.flags |= wire::kFrameSealed;
  h.length += kTagBytes;
  const auto nonce = nonce_of(counter_++);
  int n = 0;
  if (!EVP_EncryptInit_ex(ctx_->c, nullptr, nullptr, nullptr, nonce.data()) ||
      !EVP_EncryptUpdate(ctx_->c, nullptr, &n, reinterpret_cast<const uint8_t *>(&h), sizeof h))
    return crypto_error("seal");
  return {};
}

Status FrameSealer::encrypt(const uint8_t *in, size_t len, uint8_t *out) {
  int n = 0;
  if (len && !EVP_EncryptUpdate(ctx_->c, out, &n, in, static_cast<int>(len)))
    return crypto_error("seal");
  return {};
}

Status FrameSealer::finish(uint8_t *tag) {
  int n = 0;
  if (!EVP_EncryptFinal_ex(ctx_->c, nullptr, &n) ||
      !EVP_CIPHER_CTX_ctrl(ctx_->c, EVP_CTRL_GCM_GET_TAG, kTagBytes, tag))
    return crypto_error("seal");
  return {};
}

Status FrameSealer::seal(wire::FrameHeader &h, std::span<const std::span<uint8_t>> pieces,
                         uint8_t *tag) {
  LMIG_TRY(begin(h));
  for (auto p : pieces)
    LMIG_TRY(encrypt(p.data(), p.size(), p.data()));
  return finish(tag);
}

Status FrameSealer::seal_to(wire::FrameHeader &h,
                            std::span<const std::span<const uint8_t>> pieces, uint8_t *out) {
  LMIG_TRY(begin(h));
  for (auto p : pieces) {
    LMIG_TRY(encrypt(p.data(), p.size(), out));
    out += p.size();
  }
  return finish(out);
}

Result<size_t> FrameOpener::open(const wire::FrameHeader &h, uint8_t *frame,
                                 const std::string &peer) {
  const size_t len = h.length - kTagBytes; // check_sealing made sure it has a tag
  const auto nonce = nonce_of(counter_++);
  int n = 0;
  uint8_t tag[kTagBytes];
  std::memcpy(tag, frame + len, kTagBytes);
  bool ok = EVP_DecryptInit_ex(ctx_->c, nullptr, nullptr, nullptr, nonce.data()) &&
            EVP_DecryptUpdate(ctx_->c, nullptr, &n, reinterpret_cast<const uint8_t *>(&h),
                              sizeof h) &&
            (len == 0 || EVP_DecryptUpdate(ctx_->c, frame, &n, frame, static_cast<int>(len))) &&
            EVP_CIPHER_CTX_ctrl(ctx_->c, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) &&
            EVP_DecryptFinal_ex(ctx_->c, nullptr, &n) == 1;
  if (!ok)
    return make_error(LMIG_ERR_PROTOCOL, "a frame from " + peer +
                                             " failed authentication (altered, replayed or "
                                             "out of order): connection dropped");
  return len;
}

Result<size_t> check_sealing(const wire::FrameHeader &h, const FrameCrypto *crypto,
                             const std::string &peer) {
  const bool sealed = h.flags & wire::kFrameSealed;
  if (crypto && !sealed)
    return make_error(LMIG_ERR_PROTOCOL,
                      "peer " + peer + " sent a frame in clear on an encrypted connection");
  if (!crypto && sealed)
    return make_error(LMIG_ERR_PROTOCOL,
                      "peer " + peer + " sent an encrypted frame on a connection without keys");
  if (sealed && h.length < kTagBytes)
    return make_error(LMIG_ERR_PROTOCOL, "peer " + peer + " sent a sealed frame with no tag");
  return sealed ? h.length - kTagBytes : h.length;
}

} // namespace lmig

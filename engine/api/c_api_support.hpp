// Helpers for the C API: reading caller structs that may be older (smaller)
// than ours, and reporting errors into lmig_error.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/base/error.hpp"
#include "lmig/lmig.h"
#include "transport/secure/certificates.hpp"

namespace lmig {

// True when the caller's struct (of its own `size`) contains `field`.
#define LMIG_HAS_FIELD(ptr, type, field)                                                          \
  ((ptr) && (ptr)->size >= offsetof(type, field) + sizeof((ptr)->field))

inline lmig_status report_error(const Error &e, lmig_error *err) {
  if (!err || err->size < offsetof(lmig_error, message) + 1)
    return e.code;
  err->code = e.code;
  err->sys_errno = e.sys_errno;
  err->side = static_cast<lmig_side>(e.side);
  size_t cap = std::min<size_t>(sizeof err->message, err->size - offsetof(lmig_error, message));
  std::string msg = e.describe();
  size_t n = std::min(cap - 1, msg.size());
  std::memcpy(err->message, msg.data(), n);
  err->message[n] = '\0';
  return e.code;
}

// The pre-shared key a caller gave: from a file, or in memory (at least
// kMinPskBytes); empty when neither.
Result<std::vector<uint8_t>> caller_psk(const char *file, const void *bytes, size_t len);
// The caller's certificate pieces (each a path or PEM text, or null);
// null when none is given.
Result<std::shared_ptr<const CertIdentity>> caller_certs(const char *cert_file,
                                                         const char *key_file,
                                                         const char *ca_file,
                                                         const char *cert_pem,
                                                         const char *key_pem,
                                                         const char *ca_pem);
// auth_token is gone: setting it is an error, not a silent downgrade.
Status refuse_auth_token(const char *token);

inline lmig_status report_ok(lmig_error *err) {
  if (err && err->size >= offsetof(lmig_error, message) + 1) {
    err->code = LMIG_OK;
    err->sys_errno = 0;
    err->side = LMIG_SIDE_LOCAL;
    err->message[0] = '\0';
  }
  return LMIG_OK;
}

} // namespace lmig

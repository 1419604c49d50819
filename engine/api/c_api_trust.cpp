// The C API's trust options, read the same way for both sides.
#include "engine/api/c_api_support.hpp"
#include "transport/secure/psk.hpp"

namespace lmig {

Result<std::vector<uint8_t>> caller_psk(const char *file, const void *bytes, size_t len) {
  if (file && *file)
    return read_psk_file(file);
  if (!bytes || !len)
    return std::vector<uint8_t>{};
  if (len < kMinPskBytes || len > kMaxPskBytes)
    return make_error(LMIG_ERR_INVALID_ARGUMENT,
                      "a pre-shared key must hold " + std::to_string(kMinPskBytes) + " to " +
                          std::to_string(kMaxPskBytes) + " bytes");
  const auto *p = static_cast<const uint8_t *>(bytes);
  return std::vector<uint8_t>(p, p + len);
}

Status refuse_auth_token(const char *token) {
  if (token && *token)
    return make_error(LMIG_ERR_INVALID_ARGUMENT,
                      "auth_token is no longer supported (it crossed the wire in clear): give "
                      "both sides a pre-shared key file instead (psk_file, --psk-file)");
  return {};
}

} // namespace lmig

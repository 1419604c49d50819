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

Result<std::shared_ptr<const CertIdentity>> caller_certs(const char *cert_file,
                                                         const char *key_file,
                                                         const char *ca_file,
                                                         const char *cert_pem,
                                                         const char *key_pem,
                                                         const char *ca_pem) {
  auto str = [](const char *p) { return std::string(p ? p : ""); };
  CertSource src{str(cert_file), str(key_file), str(ca_file),
                 str(cert_pem),  str(key_pem),  str(ca_pem)};
  if (src.empty())
    return std::shared_ptr<const CertIdentity>();
  return CertIdentity::load(src);
}

Status refuse_auth_token(const char *token) {
  if (token && *token)
    return make_error(LMIG_ERR_INVALID_ARGUMENT,
                      "auth_token is no longer supported (it crossed the wire in clear): give "
                      "both sides a pre-shared key file instead (psk_file, --psk-file)");
  return {};
}

} // namespace lmig

#include "transport/secure/psk.hpp"

#include "transport/secure/private_file.hpp"

namespace lmig {

Result<std::vector<uint8_t>> read_psk_file(const std::string &path) {
  LMIG_ASSIGN_OR_RETURN(std::vector<uint8_t> key,
                        read_private_file(path, "pre-shared key file", kMaxPskBytes));
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r'))
    key.pop_back();
  if (key.size() < kMinPskBytes)
    return make_error(LMIG_ERR_INVALID_ARGUMENT,
                      "pre-shared key file " + path + " holds fewer than " +
                          std::to_string(kMinPskBytes) +
                          " bytes (make one: head -c 32 /dev/urandom | base64 > FILE)");
  return key;
}

} // namespace lmig

#include "transport/secure/psk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/unique_fd.hpp"

namespace lmig {

Result<std::vector<uint8_t>> read_psk_file(const std::string &path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd)
    return sys_error("open the pre-shared key file " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0)
    return sys_error("stat " + path);
  auto bad = [&](const std::string &why) {
    return make_error(LMIG_ERR_INVALID_ARGUMENT, "pre-shared key file " + path + " " + why);
  };
  if (!S_ISREG(st.st_mode))
    return bad("is not a regular file");
  if (st.st_mode & 077)
    return bad("can be read or written by others (chmod 600 it)");
  if (st.st_uid != ::geteuid())
    return bad("belongs to another user");
  if (st.st_size > static_cast<off_t>(kMaxPskBytes))
    return bad("is larger than " + std::to_string(kMaxPskBytes) + " bytes");
  std::vector<uint8_t> key(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::read(fd.get(), key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return sys_error("read " + path);
    got += static_cast<size_t>(n);
  }
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r'))
    key.pop_back();
  if (key.size() < kMinPskBytes)
    return bad("holds fewer than " + std::to_string(kMinPskBytes) +
               " bytes (make one: head -c 32 /dev/urandom | base64 > FILE)");
  return key;
}

} // namespace lmig

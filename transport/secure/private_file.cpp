#include "transport/secure/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/unique_fd.hpp"

namespace lmig {

Result<std::vector<uint8_t>> read_private_file(const std::string &path, const std::string &what,
                                               size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd)
    return sys_error("open the " + what + " " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0)
    return sys_error("stat " + path);
  auto bad = [&](const std::string &why) {
    return make_error(LMIG_ERR_INVALID_ARGUMENT, what + " " + path + " " + why);
  };
  if (!S_ISREG(st.st_mode))
    return bad("is not a regular file");
  if (st.st_mode & 077)
    return bad("can be read or written by others (chmod 600 it)");
  if (st.st_uid != ::geteuid())
    return bad("belongs to another user");
  if (st.st_size > static_cast<off_t>(max_bytes))
    return bad("is larger than " + std::to_string(max_bytes) + " bytes");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return sys_error("read " + path);
    got += static_cast<size_t>(n);
  }
  return bytes;
}

} // namespace lmig

#include "engine/capture/file_locks.hpp"

#include <sstream>

namespace lmig {
namespace {

std::string describe(const HeldLock &l) {
  std::string what = l.kind == "POSIX"    ? "a POSIX record lock"
                     : l.kind == "OFDLCK" ? "an open file description lock"
                     : l.kind == "FLOCK"  ? "a flock lock"
                     : l.kind == "LEASE"  ? "a file lease"
                                          : "a lock of kind " + l.kind;
  std::string access = l.access;
  for (char &c : access)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!access.empty())
    what += " (" + access;
  if (l.kind == "POSIX" || l.kind == "OFDLCK")
    what += ", bytes " + l.start + " to " + (l.end == "EOF" ? "the end" : l.end);
  if (!access.empty())
    what += ")";
  return what;
}

} // namespace

std::vector<HeldLock> locks_in_fdinfo(const std::string &fdinfo) {
  // lock:	1: POSIX  ADVISORY  WRITE 1234 00:2f:5678 0 EOF
  // lock:	1: FLOCK  ADVISORY  WRITE 1234 00:2f:5678 0 EOF
  // lock:	1: LEASE  ACTIVE    READ  1234 00:2f:5678 0 EOF
  std::vector<HeldLock> out;
  std::istringstream lines(fdinfo);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("lock:", 0) != 0)
      continue;
    std::istringstream words(line.substr(5));
    std::string number, kind, mode, access, pid, inode;
    HeldLock l;
    words >> number >> kind;
    if (kind == "->") // a waiter queued behind a lock, not one held
      continue;
    words >> mode >> access >> pid >> inode >> l.start >> l.end;
    l.kind = kind;
    l.access = access;
    out.push_back(std::move(l));
  }
  return out;
}

Status refuse_held_locks(int fd, const std::string &link, const std::string &fdinfo) {
  auto locks = locks_in_fdinfo(fdinfo);
  if (locks.empty())
    return {};
  Error e = make_error(LMIG_ERR_UNSUPPORTED, "fd " + std::to_string(fd) + ": " +
                                                 describe(locks.front()) + " on " + link +
                                                 " is not supported yet (it would be dropped)");
  e.fd = fd;
  return e;
}

} // namespace lmig

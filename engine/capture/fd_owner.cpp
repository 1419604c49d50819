#include "engine/capture/fd_owner.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "engine/capture/proc_status.hpp"

namespace lmig {
namespace {

// A task's ID in its innermost PID namespace (the last of NSpid).
Result<int32_t> inner_id(pid_t host_id) {
  LMIG_ASSIGN_OR_RETURN(auto st, read_status(host_id));
  return st.nspid.empty() ? host_id : st.nspid.back();
}

} // namespace

Status capture_fd_owner(FdBorrower &borrower, int fd, bool in_tree_files, FileImage &img) {
  LMIG_ASSIGN_OR_RETURN(UniqueFd dup, borrower.borrow(fd));
  f_owner_ex owner{};
  if (::fcntl(dup.get(), F_GETOWN_EX, &owner) < 0)
    return sys_error("F_GETOWN_EX of fd " + std::to_string(fd));
  const int sig = ::fcntl(dup.get(), F_GETSIG);
  if (sig < 0)
    return sys_error("F_GETSIG of fd " + std::to_string(fd));
  img.signal = sig;
  if (owner.pid == 0)
    return {};
  auto refuse = [&](const std::string &who) {
    Error e = make_error(LMIG_ERR_UNSUPPORTED, "fd " + std::to_string(fd) +
                                                   ": its I/O signals go to " + who +
                                                   "; that is not supported yet");
    e.fd = fd;
    return e;
  };
  if (in_tree_files)
    return refuse("PID " + std::to_string(owner.pid) + " (a file the tree's processes share)");
  const pid_t self = borrower.pid();
  bool ours = false;
  switch (owner.type) {
  case F_OWNER_PID: ours = owner.pid == self; break;
  case F_OWNER_TID: {
    struct stat st {};
    ours = ::stat(("/proc/" + std::to_string(self) + "/task/" + std::to_string(owner.pid)).c_str(),
                  &st) == 0;
    break;
  }
  case F_OWNER_PGRP: {
    LMIG_ASSIGN_OR_RETURN(auto stat, read_stat(self));
    ours = owner.pid == self && stat.pgrp == self;
    break;
  }
  default: return refuse("an owner of type " + std::to_string(owner.type));
  }
  if (!ours)
    return refuse((owner.type == F_OWNER_PGRP ? "process group " : "PID ") +
                  std::to_string(owner.pid) + ", which does not move with it");
  LMIG_ASSIGN_OR_RETURN(img.owner, inner_id(owner.pid));
  img.owner_type = static_cast<uint32_t>(owner.type);
  return {};
}

} // namespace lmig

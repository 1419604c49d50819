// One message with at most one file descriptor over a unix socket: how the
// restore children, lmigd and the namespace init hand descriptors to each
// other. Also called after clone: system calls only, no allocation.
#pragma once

#include <sys/socket.h>

#include <cstring>

namespace lmig {

// fd < 0: the message goes alone. Returns what sendmsg returns.
inline ssize_t send_with_fd(int sock, const void *buf, size_t len, int fd) {
  iovec iov{const_cast<void *>(buf), len};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (fd >= 0) {
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  return ::sendmsg(sock, &mh, MSG_NOSIGNAL);
}

// fd: the descriptor that came with the message (close-on-exec), or -1.
// Returns what recvmsg returns.
inline ssize_t recv_with_fd(int sock, void *buf, size_t len, int &fd, int flags) {
  fd = -1;
  iovec iov{buf, len};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  ssize_t n = ::recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
  if (n > 0)
    for (cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return n;
}

} // namespace lmig

#include "engine/capture/unix_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "engine/base/unique_fd.hpp"

namespace lmig {

Result<UnixDiag> unix_diag(uint64_t ino) {
  if (ino > 0xffffffffu)
    return make_error(LMIG_ERR_SYSTEM, "socket inode " + std::to_string(ino) + " out of range");
  UniqueFd nl(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl)
    return sys_error("socket(NETLINK_SOCK_DIAG)");
  struct {
    nlmsghdr nlh;
    unix_diag_req req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = AF_UNIX;
  msg.req.udiag_states = ~0u;
  msg.req.udiag_ino = static_cast<uint32_t>(ino);
  msg.req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
  msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(nl.get(), &msg, sizeof msg, 0, reinterpret_cast<sockaddr *>(&kernel),
               sizeof kernel) != static_cast<ssize_t>(sizeof msg))
    return sys_error("send a unix socket query");

  alignas(nlmsghdr) char buf[8192];
  ssize_t n = ::recv(nl.get(), buf, sizeof buf, 0);
  if (n < 0)
    return sys_error("receive the unix socket query's answer");
  auto *h = reinterpret_cast<nlmsghdr *>(buf);
  // NLMSG_OK spelled out: the macro compares the u32 nlmsg_len with an int,
  // which clang flags (-Wsign-compare) where it expands.
  const size_t len = static_cast<size_t>(n);
  if (len < sizeof(nlmsghdr) || h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > len)
    return make_error(LMIG_ERR_SYSTEM, "sock_diag: truncated answer");
  if (h->nlmsg_type == NLMSG_ERROR) {
    auto *e = static_cast<nlmsgerr *>(NLMSG_DATA(h));
    return sys_error("sock_diag query of socket " + std::to_string(ino), -e->error);
  }
  if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
      h->nlmsg_len < NLMSG_LENGTH(sizeof(unix_diag_msg)))
    return make_error(LMIG_ERR_SYSTEM, "sock_diag: unexpected answer");
  auto *m = static_cast<unix_diag_msg *>(NLMSG_DATA(h));
  if (m->udiag_ino != ino)
    return make_error(LMIG_ERR_SYSTEM, "sock_diag: answer about another socket");
  UnixDiag d;
  d.type = m->udiag_type;
  d.state = m->udiag_state;
  int alen = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
  for (auto *a = reinterpret_cast<rtattr *>(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
    const size_t plen = RTA_PAYLOAD(a);
    switch (a->rta_type) {
    case UNIX_DIAG_NAME: d.name.assign(static_cast<const char *>(RTA_DATA(a)), plen); break;
    case UNIX_DIAG_PEER:
      if (plen >= 4) {
        uint32_t p;
        std::memcpy(&p, RTA_DATA(a), 4);
        d.peer_ino = p;
      }
      break;
    case UNIX_DIAG_SHUTDOWN:
      if (plen >= 1)
        d.shutdown = *static_cast<const uint8_t *>(RTA_DATA(a));
      break;
    }
  }
  return d;
}

} // namespace lmig

#include "engine/restore/lifeline.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "engine/base/fd_passing.hpp"

namespace lmig {
namespace {

constexpr char kUffd = 'U';     // lmigd -> init, with one fd: keep it
constexpr char kDisarm = 'D';   // lmigd -> init: every page is in
constexpr char kDisarmed = 'd'; // init -> lmigd: copies dropped
constexpr int kMaxHeld = 1024;  // userfaultfds a tree's init holds (members and their forks)

} // namespace

Result<std::pair<UniqueFd, UniqueFd>> make_lifeline() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return sys_error("socketpair for the restore's lifeline");
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(sv[0]), UniqueFd(sv[1]));
}

Status Lifeline::hand_over(int uffd) {
  if (!fd_)
    return make_error(LMIG_ERR_INTERNAL, "hand a userfaultfd over a disarmed lifeline");
  if (send_with_fd(fd_.get(), &kUffd, 1, uffd) != 1)
    return sys_error("hand a userfaultfd to the namespace init");
  return {};
}

Status Lifeline::disarm(int timeout_ms) {
  if (!fd_)
    return {};
  // An init that has gone (its root ended) took the namespace with it:
  // nothing there can outlive us.
  if (::send(fd_.get(), &kDisarm, 1, MSG_NOSIGNAL) != 1) {
    if (errno != EPIPE && errno != ECONNRESET)
      return sys_error("disarm the namespace init");
    fd_.reset();
    return {};
  }
  pollfd p{fd_.get(), POLLIN, 0};
  char reply = 0;
  const int ready = ::poll(&p, 1, timeout_ms);
  const ssize_t n = ready == 1 ? ::recv(fd_.get(), &reply, 1, 0) : -1;
  const bool gone = n == 0 || (n < 0 && errno == ECONNRESET);
  if (!gone && (n != 1 || reply != kDisarmed))
    return make_error(LMIG_ERR_TARGET_FAILED,
                      "the namespace init did not confirm it let the userfaultfds go");
  fd_.reset();
  return {};
}

// ---- the init's end: system calls only -------------------------------------

void init_reap(pid_t root, int lifeline) {
  int held[kMaxHeld];
  int nheld = 0;
  // SIGCHLD through a signalfd: the loop waits for either end at once.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  const int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  bool killing = false;
  for (;;) {
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(-1, &status, WNOHANG)) > 0)
      if (r == root && !killing)
        ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    if (r < 0 && errno == ECHILD)
      ::_exit(killing ? 128 + SIGKILL : 0);
    pollfd p[2] = {{sfd, POLLIN, 0}, {lifeline, POLLIN, 0}};
    if (::poll(p, 2, sfd < 0 ? 10 : -1) < 0 && errno != EINTR)
      ::_exit(127);
    if (p[0].revents) {
      signalfd_siginfo si[8];
      (void)!::read(sfd, si, sizeof si);
    }
    if (lifeline < 0 || !p[1].revents)
      continue;
    char type = 0;
    int fd = -1;
    ssize_t n = recv_with_fd(lifeline, &type, 1, fd, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n == 1 && type == kUffd) {
      if (fd >= 0 && nheld < kMaxHeld)
        held[nheld++] = fd;
      else if (fd >= 0)
        ::close(fd); // more than a tree can have: lmigd holds its own copy still
      continue;
    }
    if (n == 1 && type == kDisarm) {
      for (int i = 0; i < nheld; i++)
        ::close(held[i]);
      nheld = 0;
      (void)::send(lifeline, &kDisarmed, 1, MSG_NOSIGNAL);
      ::close(lifeline);
      lifeline = -1;
      continue;
    }
    // lmigd's end closed (it died, or gave the restore up) while the
    // memory was still coming: every process of the namespace dies before
    // the userfaultfds this init holds are let go.
    ::kill(-1, SIGKILL);
    killing = true;
    ::close(lifeline);
    lifeline = -1;
  }
}

} // namespace lmig

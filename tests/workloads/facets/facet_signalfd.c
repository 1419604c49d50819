/* A signalfd keeps its mask and flags: blocked signals in the mask are
 * read from it, with their data; others are not. */
#include <sys/signalfd.h>

#include "facet.h"
#include "facet_fdutil.h"

static int sfd;

FACET_SETUP(dir) {
  (void)dir;
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR2);
  sigaddset(&m, SIGRTMIN + 2);
  sigprocmask(SIG_BLOCK, &m, NULL);
  sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
  return sfd < 0 ? (facet_fail("signalfd: %s", strerror(errno)), 1) : 0;
}

FACET_CHECK(seq) {
  if (!facet_fd_flags(sfd, "signalfd", O_NONBLOCK, O_NONBLOCK, 1))
    return 0;
  char mask[64];
  facet_fdinfo(sfd, "sigmask:", mask, sizeof mask);
  unsigned long long want = (1ull << (SIGUSR2 - 1)) | (1ull << (SIGRTMIN + 2 - 1));
  if (strtoull(mask, NULL, 16) != want)
    return facet_fail("sigmask %s, expected %016llx", mask, want);
  struct signalfd_siginfo si;
  if (read(sfd, &si, sizeof si) != -1 || errno != EAGAIN)
    return facet_fail("a signal was waiting before any was sent");
  union sigval val = {.sival_int = (int)(4200 + seq)};
  if (kill(getpid(), SIGUSR2) < 0 || sigqueue(getpid(), SIGRTMIN + 2, val) < 0)
    return facet_fail("send: %s", strerror(errno));
  if (read(sfd, &si, sizeof si) != sizeof si || si.ssi_signo != (uint32_t)SIGUSR2)
    return facet_fail("first read gave signal %u, expected SIGUSR2", si.ssi_signo);
  if (read(sfd, &si, sizeof si) != sizeof si || si.ssi_signo != (uint32_t)(SIGRTMIN + 2) ||
      si.ssi_int != (int32_t)(4200 + seq))
    return facet_fail("second read gave signal %u value %d", si.ssi_signo, si.ssi_int);
  return facet_pass();
}

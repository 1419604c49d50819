/* Seccomp strict mode: the process keeps running under it, allowed only
 * read, write, exit and rt_sigreturn. It cannot open its verdict file any
 * more, so it enters strict mode in its idle loop and from there on
 * appends verdicts through an fd opened beforehand; the checks it can make
 * use only those calls (a pipe round trip, memory), and it leaves
 * "Seccomp: 1" in expect_status for the test to find in /proc/PID/status.
 * Any other system call (a lost strict mode would not be seen here, but a
 * restorer that entered strict mode too early, or a broken restart of the
 * blocked read) kills it. */
#define FACET_HAS_IDLE
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "facet.h"

static int verdict_fd = -1, pipe_fds[2] = {-1, -1};
static uint64_t pattern[512];

FACET_SETUP(dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/verdict", dir);
  verdict_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  snprintf(path, sizeof path, "%s/expect_status", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (verdict_fd < 0 || fd < 0 || write(fd, "Seccomp:\t1\n", 11) != 11 || pipe(pipe_fds) < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  close(fd);
  facet_fill(pattern, sizeof pattern, 0x5ecc);
  return 0;
}

/* Only write(2): no stdio, no snprintf (it may allocate). */
static size_t put(char *b, size_t at, const char *s) {
  while (*s)
    b[at++] = *s++;
  return at;
}
static size_t put_num(char *b, size_t at, unsigned long v) {
  char d[24];
  int n = 0;
  do
    d[n++] = (char)('0' + v % 10);
  while (v /= 10);
  while (n)
    b[at++] = d[--n];
  return at;
}

FACET_CHECK(seq) {
  (void)seq;
  if (facet_differs(pattern, sizeof pattern, 0x5ecc) >= 0)
    return facet_fail("memory changed");
  char out = 'x', in = 0;
  if (write(pipe_fds[1], &out, 1) != 1 || read(pipe_fds[0], &in, 1) != 1 || in != out)
    return facet_fail("pipe round trip");
  return facet_pass();
}

FACET_IDLE() {
  static int strict;
  static unsigned seq;
  if (!strict) {
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) < 0)
      facet_die("PR_SET_SECCOMP");
    strict = 1;
  }
  for (;;) {
    char c;
    /* Blocks until SIGUSR1 interrupts it (its handler has no SA_RESTART). */
    if (read(pipe_fds[0], &c, 1) < 0 && errno != EINTR)
      syscall(SYS_exit, 3);
    if (!facet_check_requested)
      continue;
    facet_check_requested = 0;
    seq++;
    facet_why[0] = 0;
    int ok = facet_check(seq);
    char line[600];
    size_t n = put(line, 0, ok ? "PASS seq=" : "FAIL seq=");
    n = put_num(line, n, seq);
    n = put(line, n, ok ? " strict\n" : ": ");
    if (!ok) {
      for (size_t i = 0; facet_why[i] && n < sizeof line - 2; i++)
        line[n++] = facet_why[i];
      line[n++] = '\n';
    }
    if (write(verdict_fd, line, n) != (ssize_t)n)
      syscall(SYS_exit, 4);
  }
}

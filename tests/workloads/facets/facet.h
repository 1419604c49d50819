/*
 * facet.h: the frame of a one-facet workload. Each facet_*.c sets up one
 * facet of a process's state and checks it; this file provides main():
 *
 *   facet_X --dir DIR --ready FILE --verdict FILE
 *
 * It calls facet_setup(dir), writes "ready PID" to the ready file, then
 * idles (facet_idle(), by default a 1 ms nanosleep) and, each time SIGUSR1
 * arrives, calls facet_check(seq) and replaces the verdict file atomically
 * with "PASS seq=N ..." or "FAIL seq=N: why". The integration test
 * (tests/integration/facets_test.cpp) checks every facet on the source,
 * migrates it in both modes, and checks it again on the target.
 *
 * A facet defines:
 *   FACET_SETUP(dir) { ... return 0; }             nonzero: setup failed
 *   FACET_CHECK(seq) { ... return facet_pass(); }  or facet_fail("...")
 * and, if it must idle differently (a thread blocked somewhere, a busy
 * loop), FACET_IDLE() { ... } together with #define FACET_HAS_IDLE before
 * including this file.
 */
#ifndef LMIG_FACET_H
#define LMIG_FACET_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char facet_why[512];
static volatile sig_atomic_t facet_check_requested;
static pid_t facet_orig_pid;

static int facet_setup(const char *dir);
static int facet_check(unsigned seq);
#define FACET_SETUP(dir) static int facet_setup(const char *dir)
#define FACET_CHECK(seq) static int facet_check(unsigned seq)
#ifdef FACET_HAS_IDLE
static void facet_idle(void);
#define FACET_IDLE() static void facet_idle(void)
#endif

/* Fails the check with a reason (printf-style). */
static int facet_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int facet_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(facet_why, sizeof facet_why, fmt, ap);
  va_end(ap);
  return 0;
}
static int facet_pass(void) { return 1; }

/* Starts a thread with every signal blocked: SIGUSR1, the check request,
 * belongs to the main thread. attr may be NULL. Returns 0 or an errno. */
static inline int facet_thread(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                               void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int r = pthread_create(t, attr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return r;
}

/* fork(), for a child that must not outlive the facet process: it dies
 * with it (PR_SET_PDEATHSIG SIGKILL), so that the tests' killing the facet
 * by PID ends the whole tree. Returns as fork() does. */
static inline pid_t facet_fork(void) {
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* it died before the prctl */
      _exit(0);
  }
  return pid;
}

/* facet_fork() for a child that talks with the facet over a socket pair
 * (SOCK_STREAM): the child runs child_main with its end and never returns;
 * the facet gets its own end in *sock. Returns the child's PID, or -1 with
 * errno set. */
static inline pid_t facet_fork_linked(int *sock, void (*child_main)(int)) {
  int s[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
    return -1;
  pid_t pid = facet_fork();
  if (pid < 0) {
    int err = errno;
    close(s[0]);
    close(s[1]);
    errno = err;
    return -1;
  }
  if (pid == 0) {
    close(s[0]);
    child_main(s[1]);
    _exit(0);
  }
  close(s[1]);
  *sock = s[0];
  return pid;
}

/* Reads a whole small file (e.g. under /proc/self) into buf, NUL-ended.
 * Returns the bytes read, or -1 with errno set. */
static inline ssize_t facet_read_file(const char *path, char *buf, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, len - 1);
  int err = errno;
  close(fd);
  if (n < 0) {
    errno = err;
    return -1;
  }
  buf[n] = 0;
  return n;
}

/* A deterministic pattern for memory checks. */
static inline uint64_t facet_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
static inline void facet_fill(void *p, size_t len, uint64_t seed) {
  uint64_t *w = (uint64_t *)p;
  for (size_t i = 0; i < len / 8; i++)
    w[i] = facet_mix(i ^ seed);
}
static inline long facet_differs(const void *p, size_t len, uint64_t seed) {
  const uint64_t *w = (const uint64_t *)p;
  for (size_t i = 0; i < len / 8; i++)
    if (w[i] != facet_mix(i ^ seed))
      return (long)i;
  return -1;
}

static void facet_on_usr1(int sig) {
  (void)sig;
  facet_check_requested = 1;
}

static void facet_die(const char *what) {
  fprintf(stderr, "facet: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void facet_verdict(const char *path, unsigned seq, int ok) {
  char tmp[4200], text[1024];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  if (ok)
    snprintf(text, sizeof text, "PASS seq=%u pid=%d\n", seq, getpid());
  else
    snprintf(text, sizeof text, "FAIL seq=%u: %s\n", seq, facet_why);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, text, strlen(text)) < 0)
    facet_die("write verdict");
  close(fd);
  rename(tmp, path);
}

int main(int argc, char **argv) {
  const char *dir = NULL, *ready = NULL, *verdict = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--dir"))
      dir = argv[i + 1];
    else if (!strcmp(argv[i], "--ready"))
      ready = argv[i + 1];
    else if (!strcmp(argv[i], "--verdict"))
      verdict = argv[i + 1];
  }
  if (!dir || !ready || !verdict) {
    fprintf(stderr, "usage: %s --dir DIR --ready FILE --verdict FILE\n", argv[0]);
    return 2;
  }
  facet_orig_pid = getpid();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = facet_on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  if (chdir(dir) < 0)
    facet_die("chdir");
  if (facet_setup(dir) != 0) {
    fprintf(stderr, "facet: setup failed: %s\n", facet_why);
    return 2;
  }
  FILE *r = fopen(ready, "w");
  if (!r)
    facet_die("ready file");
  fprintf(r, "ready %d\n", getpid());
  fclose(r);
  unsigned seq = 0;
  for (;;) {
#ifdef FACET_HAS_IDLE
    facet_idle();
#else
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
#endif
    if (facet_check_requested) {
      facet_check_requested = 0;
      seq++;
      int ok = getpid() == facet_orig_pid ? facet_check(seq)
                                         : facet_fail("getpid %d, expected %d", getpid(),
                                                      facet_orig_pid);
      facet_verdict(verdict, seq, ok);
    }
  }
}

#endif

/*
 * facet_fdutil.h: small checks shared by the fd facets: an fd's status
 * flags and close-on-exec bit, a line of its /proc fdinfo, its /proc link.
 * Include after facet.h.
 */
#ifndef LMIG_FACET_FDUTIL_H
#define LMIG_FACET_FDUTIL_H

#include <sys/stat.h>

/* Fails unless fd's status flags, masked, and its close-on-exec bit are
 * what they should be. */
static inline int facet_fd_flags(int fd, const char *what, int mask, int want, int cloexec) {
  int fl = fcntl(fd, F_GETFL);
  int fdfl = fcntl(fd, F_GETFD);
  if (fl < 0 || fdfl < 0)
    return facet_fail("%s (fd %d): fcntl: %s", what, fd, strerror(errno));
  if ((fl & mask) != want)
    return facet_fail("%s (fd %d): flags 0%o, expected 0%o (mask 0%o)", what, fd, fl & mask, want,
                      mask);
  if (!!(fdfl & FD_CLOEXEC) != !!cloexec)
    return facet_fail("%s (fd %d): close-on-exec %s", what, fd, cloexec ? "lost" : "gained");
  return 1;
}

/* Copies the rest of the first fdinfo line of fd starting with key into
 * out ("" if none). */
static inline void facet_fdinfo(int fd, const char *key, char *out, size_t len) {
  char path[64], buf[8192];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  out[0] = 0;
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0)
    return;
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  if (n <= 0)
    return;
  buf[n] = 0;
  size_t klen = strlen(key);
  for (char *line = buf; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = 0;
    if (!strncmp(line, key, klen)) {
      const char *v = line + klen;
      while (*v == ' ' || *v == '\t')
        v++;
      snprintf(out, len, "%s", v);
      return;
    }
    line = nl ? nl + 1 : NULL;
  }
}

/* The target of /proc/self/fd/N. */
static inline void facet_fdlink(int fd, char *out, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, out, len - 1);
  out[n > 0 ? n : 0] = 0;
}

static inline uint64_t facet_now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif

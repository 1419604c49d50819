/* Open files a parent and its child share move as one: a pipe (the parent
 * holds the read end, the child the write end), a regular file opened
 * before the fork (one offset for both), an eventfd, and a socket pair
 * whose ends they hold apart. On each check the child writes through each
 * of them, and the parent sees it through its own ends. */
#include "facet.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>


static pid_t child;
static int pipe_rd, file_fd, efd, sock; /* the parent's ends */
static int pipe_wr;                      /* the child's end (closed in the parent) */
static off_t expected_off;

/* The child: on each byte from the socket, writes one record through
 * every shared file and answers on the socket. */
static void child_main(int csock) {
  close(pipe_rd);
  for (;;) {
    char seq;
    ssize_t n = read(csock, &seq, 1);
    if (n <= 0)
      _exit(0);
    char rec[16];
    int len = snprintf(rec, sizeof rec, "child %03d\n", (unsigned char)seq);
    uint64_t one = 1;
    if (write(pipe_wr, rec, (size_t)len) != len || write(file_fd, rec, (size_t)len) != len ||
        write(efd, &one, sizeof one) != sizeof one)
      _exit(2);
    if (write(csock, &seq, 1) != 1)
      _exit(3);
  }
}

FACET_SETUP(dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/shared_offset", dir);
  file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  efd = eventfd(0, EFD_CLOEXEC);
  int p[2];
  if (file_fd < 0 || efd < 0 || pipe2(p, O_CLOEXEC) < 0)
    return facet_fail("setup: %s", strerror(errno)), 1;
  pipe_rd = p[0];
  pipe_wr = p[1];
  child = facet_fork_linked(&sock, child_main);
  if (child < 0)
    return facet_fail("fork: %s", strerror(errno)), 1;
  close(pipe_wr);
  return 0;
}

FACET_CHECK(seq) {
  char c = (char)seq, back = 0;
  if (write(sock, &c, 1) != 1)
    return facet_fail("socket to the child: %s", strerror(errno));
  if (read(sock, &back, 1) != 1 || back != c)
    return facet_fail("the child did not answer on the socket pair");
  char want[16], got[16] = {0};
  int len = snprintf(want, sizeof want, "child %03d\n", (unsigned char)c);
  if (read(pipe_rd, got, (size_t)len) != len || memcmp(got, want, (size_t)len))
    return facet_fail("the pipe carried '%.*s', not '%.*s'", len, got, len - 1, want);
  /* One offset: the child's writes moved it for the parent too. */
  expected_off += len;
  off_t off = lseek(file_fd, 0, SEEK_CUR);
  if (off != expected_off)
    return facet_fail("shared offset %lld, expected %lld", (long long)off,
                      (long long)expected_off);
  if (pread(file_fd, got, (size_t)len, off - len) != len || memcmp(got, want, (size_t)len))
    return facet_fail("the shared file lacks the child's last record");
  uint64_t n = 0;
  if (read(efd, &n, sizeof n) != sizeof n || n != 1)
    return facet_fail("eventfd read %llu, expected 1", (unsigned long long)n);
  if (kill(child, 0) < 0)
    return facet_fail("child %d is gone: %s", child, strerror(errno));
  return facet_pass();
}

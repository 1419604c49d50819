/*
 * wl_state: a process that sets up the state lmig promises to move, then,
 * each time it gets SIGUSR1, checks all of it and writes a verdict.
 *
 *   wl_state --dir DIR --ready FILE --verdict FILE [--mem MIB] [--spin]
 *            [--tcp-socket] [--thread] [--netlink]
 *
 * State: anonymous memory (a pattern over --mem MiB), heap, stack and TLS
 * patterns, a read-only and a PROT_NONE region, a private file mapping with
 * copied-on-write pages, a shared file mapping, a regular file at an offset
 * shared by a dup, an O_APPEND file, a close-on-exec fd, /dev/null and
 * /dev/zero, a pipe with buffered bytes, signal handlers with masks and
 * flags, an ignored signal, a blocked mask, umask, cwd, rlimits, the PID and
 * the vDSO address. --spin keeps general and vector registers live in a
 * loop so a freeze catches them there. The --tcp-socket, --thread and
 * --netlink options add something lmig must refuse.
 *
 * --layout-events: at the first check, before reading them, it drops one
 * 1 MiB region (MADV_DONTNEED: must read as zeros), moves another (mremap:
 * its content must follow) and replaces a third (munmap + mmap: zeros),
 * and checks all three at every check after: in post-copy these pages
 * have not arrived yet, and a late push must not undo what the process did.
 *
 * --child: a child, forked once all of the above is set up (so it shares
 * every open file with the process), holds 4 MiB of its own pattern and
 * answers over a socket pair: each check asks it to check its memory and
 * its parent. The two move as one process tree.
 *
 * --fork-check: each check first forks a child, which forks a grandchild;
 * the child checks the first half of the anonymous memory, the grandchild
 * the second, before the process itself reads any of it (in post-copy:
 * pages none of them has yet), and the process reports what they saw.
 *
 * --exit-at-check STATUS: the first SIGUSR1 makes it exit at once with
 * STATUS, touching nothing (in post-copy: before its memory has arrived).
 *
 * The verdict file is replaced atomically: "PASS seq=N iterations=M" or
 * "FAIL seq=N: what".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/netlink.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *dir, *ready_path, *verdict_path;
static size_t mem_mib = 16;
static int spin;

static volatile sig_atomic_t check_requested;
static volatile sig_atomic_t usr2_count;
static volatile int usr2_signo;

static pid_t orig_pid;
static unsigned char *anon;
static size_t anon_len;
static unsigned char *heap;
static unsigned char *ro_region, *none_region;
static unsigned char *priv_map, *shared_map;
static int layout_events;
static int fork_check;
static int with_child;
static pid_t child_pid;
static int child_sock = -1;
static unsigned char *drop_region, *move_region, *replace_region;
#define LAYOUT_LEN (1 << 20)
static int fd_data, fd_dup, fd_append, fd_cloexec, fd_null, fd_zero, pipe_fds[2];
static unsigned long vdso_addr;
static struct timespec start_mono;
static __thread uint64_t tls_pattern[64];
static char fail_buf[512];
static long iterations;

#define PRIV_LEN (64 * 1024)
#define SHARED_LEN (16 * 1024)
#define DATA_LEN 100000
#define PIPE_DATA_LEN 3000

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static void fill(unsigned char *p, size_t len, uint64_t seed) {
  uint64_t *w = (uint64_t *)p;
  for (size_t i = 0; i < len / 8; i++)
    w[i] = mix(i ^ seed);
}

static long check_fill(const unsigned char *p, size_t len, uint64_t seed) {
  const uint64_t *w = (const uint64_t *)p;
  for (size_t i = 0; i < len / 8; i++)
    if (w[i] != mix(i ^ seed))
      return (long)i;
  return -1;
}

static void die(const char *what) {
  fprintf(stderr, "wl_state: %s: %s\n", what, strerror(errno));
  exit(2);
}

static int failf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(fail_buf, sizeof fail_buf, fmt, ap);
  va_end(ap);
  return 0;
}

static void on_usr1(int sig) {
  (void)sig;
  check_requested = 1;
}

static void on_usr2(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  usr2_signo = si->si_signo;
  usr2_count++;
}

static void write_file(const char *name, const unsigned char *p, size_t len) {
  int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, p, len) != (ssize_t)len)
    die(name);
  close(fd);
}

static void *idle_thread(void *arg) {
  (void)arg;
  for (;;)
    pause();
  return NULL;
}

static void setup(int tcp_socket, int thread, int netlink) {
  orig_pid = getpid();
  if (chdir(dir) < 0)
    die("chdir");
  umask(027);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = 900;
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
    die("setrlimit");
  getrlimit(RLIMIT_CORE, &rl);
  rl.rlim_cur = 0;
  setrlimit(RLIMIT_CORE, &rl);

  anon_len = mem_mib << 20;
  anon = mmap(NULL, anon_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (anon == MAP_FAILED)
    die("mmap anon");
  fill(anon, anon_len, 1);
  heap = malloc(64 * 1024);
  fill(heap, 64 * 1024, 2);
  for (int i = 0; i < 64; i++)
    tls_pattern[i] = mix((uint64_t)i ^ 3);

  if (layout_events) {
    drop_region = mmap(NULL, LAYOUT_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    move_region = mmap(NULL, LAYOUT_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    replace_region =
        mmap(NULL, LAYOUT_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(drop_region, LAYOUT_LEN, 11);
    fill(move_region, LAYOUT_LEN, 12);
    fill(replace_region, LAYOUT_LEN, 13);
  }
  ro_region = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fill(ro_region, 8192, 4);
  mprotect(ro_region, 8192, PROT_READ);
  none_region = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  unsigned char buf[PRIV_LEN];
  fill(buf, PRIV_LEN, 5);
  write_file("map.bin", buf, PRIV_LEN);
  int fd = open("map.bin", O_RDONLY);
  priv_map = mmap(NULL, PRIV_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (priv_map == MAP_FAILED)
    die("mmap private file");
  memcpy(priv_map + 4096, "COPIED-ON-WRITE", 15); /* one page now belongs to us */

  memset(buf, 0, SHARED_LEN);
  write_file("shared.bin", buf, SHARED_LEN);
  fd = open("shared.bin", O_RDWR);
  shared_map = mmap(NULL, SHARED_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (shared_map == MAP_FAILED)
    die("mmap shared file");
  memcpy(shared_map, "SHARED-1", 8);

  static unsigned char data[DATA_LEN];
  fill(data, DATA_LEN, 6);
  write_file("data.bin", data, DATA_LEN);
  fd_data = open("data.bin", O_RDWR);
  lseek(fd_data, 12345, SEEK_SET);
  fd_dup = dup(fd_data);
  fd_append = open("log.txt", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (write(fd_append, "line1\n", 6) != 6)
    die("write log");
  fd_cloexec = open("data.bin", O_RDONLY | O_CLOEXEC);
  fd_null = open("/dev/null", O_RDWR);
  fd_zero = open("/dev/zero", O_RDONLY);
  if (pipe(pipe_fds) < 0)
    die("pipe");
  fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  unsigned char pdata[PIPE_DATA_LEN];
  fill(pdata, PIPE_DATA_LEN, 7);
  if (write(pipe_fds[1], pdata, PIPE_DATA_LEN) != PIPE_DATA_LEN)
    die("write pipe");

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr2;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGQUIT);
  sigaction(SIGUSR2, &sa, NULL);
  signal(SIGHUP, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGWINCH);
  sigaddset(&block, SIGRTMIN + 1);
  sigprocmask(SIG_BLOCK, &block, NULL);

  vdso_addr = getauxval(AT_SYSINFO_EHDR);
  clock_gettime(CLOCK_MONOTONIC, &start_mono);

  if (tcp_socket) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0)
      die("tcp socket");
  }
  if (thread) {
    pthread_t t;
    pthread_create(&t, NULL, idle_thread, NULL);
  }
  if (netlink && socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE) < 0)
    die("netlink socket");
}

static int check_fd_offset(int fd, off_t want, const char *what) {
  off_t at = lseek(fd, 0, SEEK_CUR);
  if (at != want)
    return failf("%s offset %lld, expected %lld", what, (long long)at, (long long)want);
  return 1;
}

static int all_zero(const unsigned char *p, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (p[i])
      return 0;
  return 1;
}

/* Changes the layout under pages that may not have arrived yet, once. */
static int layout_changes(unsigned seq) {
  if (seq == 1) {
    if (madvise(drop_region, LAYOUT_LEN, MADV_DONTNEED) < 0)
      return failf("madvise: %s", strerror(errno));
    void *to = mremap(move_region, LAYOUT_LEN, LAYOUT_LEN, MREMAP_MAYMOVE | MREMAP_FIXED,
                      move_region + 64 * LAYOUT_LEN);
    if (to == MAP_FAILED) {
      /* that spot may be taken: let the kernel choose */
      to = mremap(move_region, LAYOUT_LEN, 2 * LAYOUT_LEN, MREMAP_MAYMOVE);
      if (to == MAP_FAILED)
        return failf("mremap: %s", strerror(errno));
    }
    move_region = to;
    if (munmap(replace_region, LAYOUT_LEN) < 0 ||
        mmap(replace_region, LAYOUT_LEN, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != replace_region)
      return failf("munmap + mmap: %s", strerror(errno));
  }
  if (!all_zero(drop_region, LAYOUT_LEN))
    return failf("a dropped region (MADV_DONTNEED) reads non-zero");
  long bad = check_fill(move_region, LAYOUT_LEN, 12);
  if (bad >= 0)
    return failf("a moved region (mremap) differs at word %ld", bad);
  if (!all_zero(replace_region, LAYOUT_LEN))
    return failf("a replaced region (munmap + mmap) reads non-zero");
  return 1;
}

/* Whether words [from, to) of the anonymous memory hold their pattern. */
static int anon_words_intact(size_t from, size_t to) {
  const uint64_t *w = (const uint64_t *)anon;
  for (size_t i = from; i < to; i++)
    if (w[i] != mix(i ^ 1))
      return 0;
  return 1;
}

/* A child (and its own child) check the memory: 1 when both saw it intact. */
static int forked_memory_check(void) {
  const size_t words = anon_len / 8;
  pid_t child = fork();
  if (child < 0)
    return failf("fork: %s", strerror(errno));
  if (child == 0) {
    pid_t grandchild = fork();
    if (grandchild == 0)
      _exit(anon_words_intact(words / 2, words) ? 0 : 3);
    int mine = anon_words_intact(0, words / 2) ? 0 : 2;
    int gs = 0;
    if (grandchild < 0 || waitpid(grandchild, &gs, 0) != grandchild)
      _exit(4);
    _exit(mine ? mine : WIFEXITED(gs) ? WEXITSTATUS(gs) : 5);
  }
  int st = 0;
  if (waitpid(child, &st, 0) != child)
    return failf("waitpid of the checking child: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return failf("a child forked now sees other memory (status %d: 2 the child, 3 the "
                 "grandchild, 4 or 5 the grandchild was lost)",
                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 1;
}

/* The --child process: its own memory, checked when its parent asks. */
static void start_child(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    die("socketpair");
  const pid_t parent = getpid();
  child_pid = fork();
  if (child_pid < 0)
    die("fork");
  if (child_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with the test's process */
    if (getppid() != parent)
      _exit(0);
    close(sv[0]);
    const size_t len = 4u << 20;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
      _exit(1);
    fill(m, len, 21);
    for (;;) {
      char c;
      if (read(sv[1], &c, 1) != 1)
        _exit(0);
      char r = check_fill(m, len, 21) >= 0 ? 'M' : getppid() != parent ? 'P' : 'K';
      if (write(sv[1], &r, 1) != 1)
        _exit(0);
    }
  }
  close(sv[1]);
  child_sock = sv[0];
}

static int check_child(void) {
  char c = '?', r = 0;
  if (write(child_sock, &c, 1) != 1)
    return failf("the child's socket: %s", strerror(errno));
  struct pollfd p = {child_sock, POLLIN, 0};
  if (poll(&p, 1, 20000) != 1 || read(child_sock, &r, 1) != 1)
    return failf("the child did not answer");
  if (r == 'M')
    return failf("the child's memory differs");
  if (r == 'P')
    return failf("the child's parent is no longer this process");
  if (r != 'K')
    return failf("the child answered '%c'", r);
  if (kill(child_pid, 0) < 0)
    return failf("the child %d is gone: %s", child_pid, strerror(errno));
  return 1;
}

static int check_state(unsigned seq) {
  long bad;
  if (layout_events && !layout_changes(seq))
    return 0;
  if (fork_check && !forked_memory_check())
    return 0;
  if (with_child && !check_child())
    return 0;
  if (getpid() != orig_pid)
    return failf("getpid %d, expected %d", getpid(), orig_pid);
  if (syscall(SYS_gettid) != orig_pid)
    return failf("gettid %ld, expected %d", syscall(SYS_gettid), orig_pid);
  if ((bad = check_fill(anon, anon_len, 1)) >= 0)
    return failf("anonymous memory differs at word %ld", bad);
  if ((bad = check_fill(heap, 64 * 1024, 2)) >= 0)
    return failf("heap differs at word %ld", bad);
  for (int i = 0; i < 64; i++)
    if (tls_pattern[i] != mix((uint64_t)i ^ 3))
      return failf("TLS differs at %d", i);
  if ((bad = check_fill(ro_region, 8192, 4)) >= 0)
    return failf("read-only region differs at word %ld", bad);

  /* protections as they were, through /proc/self/maps */
  char line[512], want_ro[64], want_none[64];
  snprintf(want_ro, sizeof want_ro, "%lx-%lx r--p", (unsigned long)ro_region,
           (unsigned long)ro_region + 8192);
  snprintf(want_none, sizeof want_none, "%lx-%lx ---p", (unsigned long)none_region,
           (unsigned long)none_region + 4 * 4096);
  int seen_ro = 0, seen_none = 0, seen_vdso = 0;
  FILE *maps = fopen("/proc/self/maps", "r");
  while (maps && fgets(line, sizeof line, maps)) {
    if (!strncmp(line, want_ro, strlen(want_ro)))
      seen_ro = 1;
    if (!strncmp(line, want_none, strlen(want_none)))
      seen_none = 1;
    if (strstr(line, "[vdso]") && strtoul(line, NULL, 16) == vdso_addr)
      seen_vdso = 1;
  }
  if (maps)
    fclose(maps);
  if (!seen_ro)
    return failf("read-only region %s not found in maps", want_ro);
  if (!seen_none)
    return failf("PROT_NONE region %s not found in maps", want_none);
  if (!seen_vdso)
    return failf("[vdso] not at 0x%lx", vdso_addr);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (now.tv_sec < start_mono.tv_sec)
    return failf("CLOCK_MONOTONIC went backwards");

  /* private file mapping: our copy of one page, the file's for the rest */
  unsigned char orig[PRIV_LEN];
  fill(orig, PRIV_LEN, 5);
  if (memcmp(priv_map + 4096, "COPIED-ON-WRITE", 15))
    return failf("private mapping lost its written page");
  if (memcmp(priv_map, orig, 4096) || memcmp(priv_map + 8192, orig + 8192, PRIV_LEN - 8192))
    return failf("private mapping differs from the file");
  int fd = open("map.bin", O_RDONLY);
  unsigned char disk[16];
  if (fd < 0 || pread(fd, disk, 15, 4096) != 15 || !memcmp(disk, "COPIED-ON-WRITE", 15))
    return failf("a private write reached the file");
  close(fd);

  /* shared file mapping: writes go to the file, both ways */
  if (memcmp(shared_map, "SHARED-1", 8))
    return failf("shared mapping lost its content");
  char tag[16];
  snprintf(tag, sizeof tag, "SEQ-%05u", seq);
  memcpy(shared_map + 4096, tag, 9);
  fd = open("shared.bin", O_RDONLY);
  char got[16] = {0};
  if (fd < 0 || pread(fd, got, 9, 4096) != 9 || memcmp(got, tag, 9))
    return failf("shared mapping no longer writes to the file");
  close(fd);

  /* fds: offsets, sharing, flags */
  static off_t data_off = 12345;
  if (!check_fd_offset(fd_data, data_off, "data fd") ||
      !check_fd_offset(fd_dup, data_off, "dup'd fd"))
    return 0;
  unsigned char chunk[10], expect[DATA_LEN];
  fill(expect, DATA_LEN, 6);
  if (read(fd_data, chunk, 10) != 10 || memcmp(chunk, expect + data_off, 10))
    return failf("data fd reads wrong bytes");
  data_off += 10;
  if (!check_fd_offset(fd_dup, data_off, "dup'd fd after a read through its twin"))
    return 0;
  if (!(fcntl(fd_append, F_GETFL) & O_APPEND))
    return failf("O_APPEND lost");
  if (!(fcntl(fd_cloexec, F_GETFD) & FD_CLOEXEC))
    return failf("close-on-exec lost");
  if (fcntl(fd_data, F_GETFD) & FD_CLOEXEC)
    return failf("close-on-exec appeared on a plain fd");
  if ((fcntl(fd_data, F_GETFL) & O_ACCMODE) != O_RDWR)
    return failf("data fd is no longer read-write");
  char lbuf[8];
  snprintf(lbuf, sizeof lbuf, "seq%03u\n", seq % 1000);
  if (write(fd_append, lbuf, 7) != 7)
    return failf("append write failed");
  struct stat st;
  if (stat("log.txt", &st) < 0 || st.st_size != 6 + 7 * (off_t)seq)
    return failf("log.txt is %lld bytes, expected %lld", (long long)st.st_size,
                 (long long)(6 + 7 * seq));
  if (write(fd_null, "x", 1) != 1)
    return failf("/dev/null not writable");
  unsigned char z[64];
  memset(z, 1, sizeof z);
  if (read(fd_zero, z, sizeof z) != sizeof z || z[0] || z[63])
    return failf("/dev/zero does not read zeros");

  /* the pipe: exactly its buffered bytes, put back after each check */
  {
    unsigned char pexp[PIPE_DATA_LEN], pgot[PIPE_DATA_LEN + 16];
    fill(pexp, PIPE_DATA_LEN, 7);
    ssize_t n = read(pipe_fds[0], pgot, sizeof pgot);
    if (n != PIPE_DATA_LEN || memcmp(pgot, pexp, PIPE_DATA_LEN))
      return failf("pipe held %zd bytes, expected %d intact", n, PIPE_DATA_LEN);
    if (read(pipe_fds[0], pgot, 1) != -1 || errno != EAGAIN)
      return failf("pipe lost O_NONBLOCK or holds extra bytes");
    if (write(pipe_fds[1], "ping", 4) != 4 || read(pipe_fds[0], lbuf, 4) != 4 ||
        memcmp(lbuf, "ping", 4))
      return failf("pipe does not carry bytes any more");
    if (write(pipe_fds[1], pexp, PIPE_DATA_LEN) != PIPE_DATA_LEN)
      return failf("pipe refused its bytes back");
  }

  /* signals */
  struct sigaction sa;
  sigaction(SIGUSR2, NULL, &sa);
  if (sa.sa_sigaction != on_usr2 || !(sa.sa_flags & SA_SIGINFO) || !(sa.sa_flags & SA_RESTART))
    return failf("SIGUSR2 handler or flags lost");
  if (!sigismember(&sa.sa_mask, SIGINT) || !sigismember(&sa.sa_mask, SIGQUIT))
    return failf("SIGUSR2 handler mask lost");
  sigaction(SIGHUP, NULL, &sa);
  if (sa.sa_handler != SIG_IGN)
    return failf("SIGHUP no longer ignored");
  sigaction(SIGTERM, NULL, &sa);
  if (sa.sa_handler != SIG_DFL)
    return failf("SIGTERM no longer default");
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  if (!sigismember(&cur, SIGWINCH) || !sigismember(&cur, SIGRTMIN + 1) ||
      sigismember(&cur, SIGUSR1))
    return failf("blocked mask differs");
  int before = usr2_count;
  raise(SIGUSR2);
  if (usr2_count != before + 1 || usr2_signo != SIGUSR2)
    return failf("SIGUSR2 handler did not run");

  /* process attributes */
  mode_t um = umask(027);
  if (um != 027)
    return failf("umask %o, expected 027", um);
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd))
    return failf("getcwd: %s", strerror(errno));
  char real_dir[4096];
  if (!realpath(dir, real_dir) || strcmp(cwd, real_dir))
    return failf("cwd is %s, expected %s", cwd, real_dir);
  char comm[32] = {0};
  FILE *cf = fopen("/proc/self/comm", "r");
  if (!cf || !fgets(comm, sizeof comm, cf) || strcmp(comm, "wl_state\n"))
    return failf("comm is '%s', expected wl_state", comm);
  fclose(cf);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != 900)
    return failf("RLIMIT_NOFILE soft %llu, expected 900", (unsigned long long)rl.rlim_cur);
  getrlimit(RLIMIT_CORE, &rl);
  if (rl.rlim_cur != 0)
    return failf("RLIMIT_CORE soft changed");
  return 1;
}

/* Registers held live across a long loop: a freeze lands here often. With
 * AVX, the upper halves of ymm registers too (they live only in the XSAVE
 * area, not in the legacy FXSAVE part). */
static int spin_registers(void) {
#if defined(__x86_64__)
  uint64_t gp_in[5] = {0x1111111111111111ull, 0x2222222222222222ull, 0x3333333333333333ull,
                       0x4444444444444444ull, 0x5555555555555555ull};
  uint64_t gp_out[5];
  uint64_t x_in[8] = {0x0123456789abcdefull, 0xfedcba9876543210ull, 0x0f0f0f0f0f0f0f0full,
                      0xf0f0f0f0f0f0f0f0ull, 0x1357924680aceb01ull, 0x2468ace013579bdfull,
                      0x5a5a5a5aa5a5a5a5ull, 0x0badf00ddeadbeefull};
  uint64_t x_out[8] = {0};
  if (__builtin_cpu_supports("avx")) {
    __asm__ volatile("mov 0(%2), %%rbx\n\t"
                     "mov 8(%2), %%r12\n\t"
                     "mov 16(%2), %%r13\n\t"
                     "mov 24(%2), %%r14\n\t"
                     "mov 32(%2), %%r15\n\t"
                     "vmovdqu 0(%3), %%ymm6\n\t"
                     "vmovdqu 32(%3), %%ymm7\n\t"
                     "mov $20000000, %%rcx\n\t"
                     "1: dec %%rcx\n\t"
                     "jnz 1b\n\t"
                     "mov %%rbx, 0(%0)\n\t"
                     "mov %%r12, 8(%0)\n\t"
                     "mov %%r13, 16(%0)\n\t"
                     "mov %%r14, 24(%0)\n\t"
                     "mov %%r15, 32(%0)\n\t"
                     "vmovdqu %%ymm6, 0(%1)\n\t"
                     "vmovdqu %%ymm7, 32(%1)\n\t"
                     "vzeroupper\n\t"
                     :
                     : "r"(gp_out), "r"(x_out), "r"(gp_in), "r"(x_in)
                     : "rbx", "r12", "r13", "r14", "r15", "rcx", "xmm6", "xmm7", "memory", "cc");
  } else {
    __asm__ volatile("mov 0(%2), %%rbx\n\t"
                     "mov 8(%2), %%r12\n\t"
                     "mov 16(%2), %%r13\n\t"
                     "mov 24(%2), %%r14\n\t"
                     "mov 32(%2), %%r15\n\t"
                     "movdqu 0(%3), %%xmm6\n\t"
                     "movdqu 32(%3), %%xmm7\n\t"
                     "mov $20000000, %%rcx\n\t"
                     "1: dec %%rcx\n\t"
                     "jnz 1b\n\t"
                     "mov %%rbx, 0(%0)\n\t"
                     "mov %%r12, 8(%0)\n\t"
                     "mov %%r13, 16(%0)\n\t"
                     "mov %%r14, 24(%0)\n\t"
                     "mov %%r15, 32(%0)\n\t"
                     "movdqu %%xmm6, 0(%1)\n\t"
                     "movdqu %%xmm7, 32(%1)\n\t"
                     :
                     : "r"(gp_out), "r"(x_out), "r"(gp_in), "r"(x_in)
                     : "rbx", "r12", "r13", "r14", "r15", "rcx", "xmm6", "xmm7", "memory", "cc");
    memcpy(x_out + 2, x_in + 2, 16); /* no upper halves to compare */
    memcpy(x_out + 6, x_in + 6, 16);
  }
  if (memcmp(gp_in, gp_out, sizeof gp_in))
    return failf("general registers changed under a freeze");
  if (memcmp(x_in, x_out, 16) || memcmp(x_in + 4, x_out + 4, 16))
    return failf("xmm registers changed under a freeze");
  if (memcmp(x_in + 2, x_out + 2, 16) || memcmp(x_in + 6, x_out + 6, 16))
    return failf("upper halves of ymm registers changed under a freeze");
#endif
  return 1;
}

static void write_verdict(unsigned seq, int ok) {
  char tmp[4200], text[1024];
  snprintf(tmp, sizeof tmp, "%s.tmp", verdict_path);
  if (ok)
    snprintf(text, sizeof text, "PASS seq=%u iterations=%ld pid=%d\n", seq, iterations, getpid());
  else
    snprintf(text, sizeof text, "FAIL seq=%u: %s\n", seq, fail_buf);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, text, strlen(text)) < 0)
    die("write verdict");
  close(fd);
  rename(tmp, verdict_path);
}

int main(int argc, char **argv) {
  int tcp_socket = 0, thread = 0, netlink = 0, exit_at_check = -1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--ready") && i + 1 < argc)
      ready_path = argv[++i];
    else if (!strcmp(argv[i], "--verdict") && i + 1 < argc)
      verdict_path = argv[++i];
    else if (!strcmp(argv[i], "--mem") && i + 1 < argc)
      mem_mib = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--spin"))
      spin = 1;
    else if (!strcmp(argv[i], "--tcp-socket"))
      tcp_socket = 1;
    else if (!strcmp(argv[i], "--thread"))
      thread = 1;
    else if (!strcmp(argv[i], "--netlink"))
      netlink = 1;
    else if (!strcmp(argv[i], "--layout-events"))
      layout_events = 1;
    else if (!strcmp(argv[i], "--fork-check"))
      fork_check = 1;
    else if (!strcmp(argv[i], "--child"))
      with_child = 1;
    else if (!strcmp(argv[i], "--exit-at-check") && i + 1 < argc)
      exit_at_check = atoi(argv[++i]);
    else {
      fprintf(stderr, "wl_state: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (!dir || !ready_path || !verdict_path) {
    fprintf(stderr, "usage: wl_state --dir DIR --ready FILE --verdict FILE [--mem MIB]\n");
    return 2;
  }
  setup(tcp_socket, thread, netlink);
  if (with_child)
    start_child();
  char stack_pattern[4096];
  fill((unsigned char *)stack_pattern, sizeof stack_pattern, 8);

  FILE *r = fopen(ready_path, "w");
  if (!r)
    die("ready file");
  fprintf(r, "ready %d\n", getpid());
  fclose(r);

  unsigned seq = 0;
  for (;;) {
    iterations++;
    if (spin) {
      if (!spin_registers()) {
        write_verdict(++seq, 0);
        spin = 0;
      }
    } else {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
    if (check_requested && exit_at_check >= 0)
      _exit(exit_at_check);
    if (check_requested) {
      check_requested = 0;
      seq++;
      int ok = check_state(seq);
      if (ok && check_fill((unsigned char *)stack_pattern, sizeof stack_pattern, 8) >= 0)
        ok = failf("stack differs");
      write_verdict(seq, ok);
    }
  }
}

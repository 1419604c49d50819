/*
 * bench_memhog: the workload of the end-to-end migration benchmarks.
 *
 *   bench_memhog [--sigwait] [--max-seconds S] [--children K]
 *                [--after-migration random N | --after-migration sequential]
 *                [--results FILE] MIB READY_FILE VERDICT_FILE
 *
 * Maps MIB MiB of private anonymous memory and fills every 8-byte word with
 * a pseudo-random value derived from its own address (splitmix64), so the
 * pages are neither zero nor compressible and each one proves where it came
 * from. Then writes "PID ready" into READY_FILE (atomically, through a
 * rename), and idles: every millisecond it reads one word and writes the
 * same value back (one page dirtied per tick, the image stays valid). On
 * SIGUSR1 it checks every word and writes "PASS" or "FAIL ..." into
 * VERDICT_FILE, then exits (0 on PASS, 1 on FAIL). Without SIGUSR1 it gives
 * up after S seconds (default 3600), writing "FAIL timeout".
 *
 * By default a sigaction() handler catches SIGUSR1 and the idle loop sleeps
 * with nanosleep(), so the check also proves that the signal disposition
 * was migrated. With --sigwait, SIGUSR1 stays blocked and the idle loop
 * waits for it with a 1 ms sigtimedwait() instead (only the signal mask
 * has to survive the migration).
 *
 * With --after-migration it also measures what post-copy costs the process
 * itself. Its idle loop then ticks every ~50 us and compares getppid() with
 * the parent it started with: on the target the parent is the PID
 * namespace's init, so a change means it now runs there (the pages may not
 * have arrived yet). At that moment it runs the access pattern:
 *
 *   --after-migration random N   reads one byte of each of N distinct random
 *                                pages, timing every read (clock_gettime);
 *                                mincore() just before each read tells
 *                                whether the page was already there;
 *   --after-migration sequential reads one byte of every page in address
 *                                order once, timing the whole scan.
 *
 * and writes its figures as one JSON object into the --results file
 * (atomically): for random, p50/p90/p99/max over the reads of pages that were
 * missing ("remote"), of pages already there, of all, and every latency in
 * ns; for sequential, the scan time and how many pages were there at its
 * start. Both also give the gap the idle loop saw across the migration. Its
 * own bookkeeping lives in mappings made after the migration, so it adds no
 * remote faults of its own (but its stack's). Then it idles as before and
 * still checks every word on SIGUSR1.
 *
 * With --children K the MIB are split evenly between the process and K
 * children it forks once its own share is filled (a process tree, moved as
 * one). Each child fills its share the same way and idles with SIGUSR1
 * blocked; the process's check asks each child (SIGUSR1) to check its own
 * memory, which answers with its exit status, and reports the first failure.
 *
 * It holds no descriptor between the two files (lmig moves it while it
 * idles): whoever starts it redirects stdio to /dev/null and closes the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define SEED 0x6c6d69672d62656eULL /* "lmig-ben" */

static volatile sig_atomic_t g_verify;

static void on_usr1(int sig) {
  (void)sig;
  g_verify = 1;
}

static inline uint64_t pattern(uintptr_t addr) {
  uint64_t z = (uint64_t)addr ^ SEED;
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static int write_file(const char *path, const char *text) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)w;
  }
  if (close(fd) < 0)
    return -1;
  return rename(tmp, path);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- after the migration --------------------------------------------------
 * Everything below allocates with mmap() after the migration: a fresh
 * mapping is not registered with the target's userfaultfd, so bookkeeping
 * costs no remote faults. */

enum { AFTER_NONE, AFTER_RANDOM, AFTER_SEQUENTIAL };

static void *fresh(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank quantile of n sorted values. */
static uint64_t quantile(const uint64_t *v, size_t n, double q) {
  size_t r = (size_t)(q * (double)n + 0.999999999);
  if (r < 1)
    r = 1;
  if (r > n)
    r = n;
  return v[r - 1];
}

/* Appends to a fixed buffer (sized by the caller, never overrun). */
struct out {
  char *buf;
  size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n > 0)
    o->len = o->len + (size_t)n < o->cap ? o->len + (size_t)n : o->cap - 1;
}

/* p50/p90/p99/max/mean of the latencies whose flag equals want (want < 0: all). */
static void put_summary(struct out *o, const char *name, const uint64_t *lat,
                        const unsigned char *flag, size_t n, int want, uint64_t *scratch) {
  size_t m = 0;
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    if (want < 0 || flag[i] == want) {
      scratch[m++] = lat[i];
      sum += (double)lat[i];
    }
  if (!m) {
    put(o, "\"%s\":{\"n\":0}", name);
    return;
  }
  qsort(scratch, m, sizeof *scratch, cmp_u64);
  put(o,
      "\"%s\":{\"n\":%zu,\"p50_us\":%.3f,\"p90_us\":%.3f,\"p99_us\":%.3f,\"min_us\":%.3f,"
      "\"max_us\":%.3f,\"mean_us\":%.3f}",
      name, m, quantile(scratch, m, 0.50) / 1e3, quantile(scratch, m, 0.90) / 1e3,
      quantile(scratch, m, 0.99) / 1e3, scratch[0] / 1e3, scratch[m - 1] / 1e3, sum / (double)m / 1e3);
}

/* Reads one byte of each of n distinct random pages, timing each read. */
static int after_random(const unsigned char *mem, size_t pages, size_t n, const char *path,
                        double gap_ms) {
  if (n > pages)
    n = pages;
  size_t bitmap_bytes = (pages + 7) / 8;
  size_t out_cap = n * 24 + 4096;
  unsigned char *block = fresh(n * 3 * sizeof(uint64_t) + n + bitmap_bytes + out_cap);
  if (!block)
    return -1;
  uint64_t *idx = (uint64_t *)block, *lat = idx + n, *scratch = lat + n;
  unsigned char *resident = (unsigned char *)(scratch + n), *taken = resident + n;
  struct out o = {(char *)(taken + bitmap_bytes), 0, out_cap};

  /* Distinct pages, xorshift64* seeded from the clock (each run differs). */
  uint64_t x = now_ns() ^ SEED;
  for (size_t k = 0; k < n;) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    size_t pg = (size_t)((x * 0x2545f4914f6cdd1dULL) % pages);
    if (taken[pg / 8] & (1u << (pg % 8)))
      continue;
    taken[pg / 8] |= (unsigned char)(1u << (pg % 8));
    idx[k++] = pg;
  }
  unsigned sink = 0;
  const uint64_t t_start = now_ns();
  for (size_t k = 0; k < n; k++) {
    const volatile unsigned char *p = mem + idx[k] * PAGE;
    unsigned char v = 0;
    if (mincore((void *)(uintptr_t)p, PAGE, &v) < 0)
      v = 0xff;
    resident[k] = v == 0xff ? 2 : (v & 1);
    uint64_t t0 = now_ns();
    sink += *p;
    uint64_t t1 = now_ns();
    lat[k] = t1 - t0;
  }
  const uint64_t t_end = now_ns();
  (void)sink;

  put(&o, "{\"mode\":\"random\",\"touches\":%zu,\"pages\":%zu,\"gap_before_ms\":%.3f,"
          "\"elapsed_ms\":%.3f,",
      n, pages, gap_ms, (double)(t_end - t_start) / 1e6);
  put_summary(&o, "remote", lat, resident, n, 0, scratch);
  put(&o, ",");
  put_summary(&o, "resident", lat, resident, n, 1, scratch);
  put(&o, ",");
  put_summary(&o, "all", lat, resident, n, -1, scratch);
  put(&o, ",\"latency_ns\":[");
  for (size_t k = 0; k < n; k++)
    put(&o, "%s%" PRIu64, k ? "," : "", lat[k]);
  /* 0: missing before the read (a remote fault), 1: there already, 2: unknown */
  put(&o, "],\"was_resident\":\"");
  for (size_t k = 0; k < n; k++)
    put(&o, "%c", '0' + resident[k]);
  put(&o, "\"}\n");
  int r = write_file(path, o.buf);
  munmap(block, n * 3 * sizeof(uint64_t) + n + bitmap_bytes + out_cap);
  return r;
}

/* Reads one byte of every page in address order, timing the whole scan. */
static int after_sequential(const unsigned char *mem, size_t pages, const char *path,
                            double gap_ms) {
  unsigned char *vec = fresh(pages);
  size_t there = 0;
  int known = vec && mincore((void *)(uintptr_t)mem, pages * PAGE, vec) == 0;
  if (known)
    for (size_t i = 0; i < pages; i++)
      there += vec[i] & 1;
  unsigned sink = 0;
  const uint64_t t0 = now_ns();
  for (size_t i = 0; i < pages; i++)
    sink += ((const volatile unsigned char *)mem)[i * PAGE];
  const uint64_t t1 = now_ns();
  (void)sink;
  if (vec)
    munmap(vec, pages);
  char text[512];
  double ms = (double)(t1 - t0) / 1e6;
  if (known)
    snprintf(text, sizeof text,
             "{\"mode\":\"sequential\",\"pages\":%zu,\"resident_at_start\":%zu,"
             "\"gap_before_ms\":%.3f,\"scan_ms\":%.3f,\"gib_per_s\":%.3f}\n",
             pages, there, gap_ms, ms, (double)pages * PAGE / (1 << 30) / (ms / 1e3));
  else
    snprintf(text, sizeof text,
             "{\"mode\":\"sequential\",\"pages\":%zu,\"resident_at_start\":null,"
             "\"gap_before_ms\":%.3f,\"scan_ms\":%.3f,\"gib_per_s\":%.3f}\n",
             pages, gap_ms, ms, (double)pages * PAGE / (1 << 30) / (ms / 1e3));
  return write_file(path, text);
}

/* Fills words of memory with the pattern of their own addresses. */
static void fill_pattern(uint64_t *m, size_t words) {
  for (size_t i = 0; i < words; i++)
    m[i] = pattern((uintptr_t)&m[i]);
}

/* How many words differ from their pattern; the first at *first. */
static size_t count_bad(const uint64_t *m, size_t words, size_t *first) {
  size_t bad = 0;
  for (size_t i = 0; i < words; i++)
    if (m[i] != pattern((uintptr_t)&m[i]) && !bad++)
      *first = i;
  return bad;
}

/* A child of --children: fills its share, says so by closing `ready`, and
 * checks it when asked (SIGUSR1); its exit status is the answer. */
static void child_main(size_t bytes, int ready) {
  uint64_t *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    _exit(3);
  const size_t n = bytes / sizeof(uint64_t);
  fill_pattern(m, n);
  close(ready);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  int sig = 0;
  while (sigwait(&usr1, &sig) != 0 || sig != SIGUSR1)
    ;
  size_t first = 0;
  _exit(count_bad(m, n, &first) ? 1 : 0);
}

/* Forks the children, each filling its share; returns once all are ready
 * (no descriptor stays shared between them and the process). */
static int start_children(pid_t *children, unsigned long n, size_t bytes) {
  if (n == 0)
    return 0;
  int p[2];
  if (pipe(p) < 0)
    return -1;
  sigset_t usr1, old;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, &old); /* the children's, from their first instant */
  const pid_t parent = getpid();
  for (unsigned long k = 0; k < n; k++) {
    children[k] = fork();
    if (children[k] < 0)
      return -1;
    if (children[k] == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with the benchmark's process */
      if (getppid() != parent)
        _exit(0);
      close(p[0]);
      child_main(bytes, p[1]);
    }
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  close(p[1]);
  char c;
  while (read(p[0], &c, 1) > 0) /* EOF: every child has filled its share */
    ;
  close(p[0]);
  return 0;
}

/* Asks every child to check its memory; NULL, or what failed. */
static const char *check_children(const pid_t *children, unsigned long n) {
  static char why[128];
  for (unsigned long k = 0; k < n; k++) {
    int st = 0;
    if (kill(children[k], SIGUSR1) < 0 || waitpid(children[k], &st, 0) != children[k]) {
      snprintf(why, sizeof why, "child %lu (pid %d) is gone", k, (int)children[k]);
      return why;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      snprintf(why, sizeof why, "child %lu (pid %d): its memory differs (status %d)", k,
               (int)children[k], st);
      return why;
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"sigwait", no_argument, NULL, 's'},
      {"max-seconds", required_argument, NULL, 'm'},
      {"after-migration", required_argument, NULL, 'a'},
      {"results", required_argument, NULL, 'r'},
      {"children", required_argument, NULL, 'c'},
      {NULL, 0, NULL, 0},
  };
  int use_handler = 1;
  double max_seconds = 3600.0;
  int after = AFTER_NONE;
  unsigned long long touches = 0;
  const char *results_path = NULL;
  unsigned long nchildren = 0;
  int c, bad_usage = 0;
  /* "+": options come first, so that "random N" can take the word after it. */
  while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
    switch (c) {
    case 's': use_handler = 0; break;
    case 'm': max_seconds = strtod(optarg, NULL); break;
    case 'a':
      if (strcmp(optarg, "sequential") == 0) {
        after = AFTER_SEQUENTIAL;
      } else if (strcmp(optarg, "random") == 0 && optind < argc) {
        char *e = NULL;
        after = AFTER_RANDOM;
        touches = strtoull(argv[optind++], &e, 10);
        if (!e || *e || touches == 0)
          bad_usage = 1;
      } else {
        bad_usage = 1;
      }
      break;
    case 'r': results_path = optarg; break;
    case 'c': nchildren = strtoul(optarg, NULL, 10); break;
    default: bad_usage = 1; break;
    }
  }
  if (bad_usage || argc - optind != 3 || !(max_seconds > 0) || nchildren > 64 ||
      (after != AFTER_NONE) != (results_path != NULL)) {
    fprintf(stderr,
            "usage: %s [--sigwait] [--max-seconds S]\n"
            "       [--after-migration random N|sequential --results FILE] [--children K]\n"
            "       MIB READY_FILE VERDICT_FILE\n",
            argv[0]);
    return 2;
  }
  char *end = NULL;
  unsigned long long mib = strtoull(argv[optind], &end, 10);
  if (!end || *end || mib == 0 || mib > (1ULL << 22)) {
    fprintf(stderr, "bench_memhog: bad size '%s' (MiB)\n", argv[optind]);
    return 2;
  }
  const char *ready_path = argv[optind + 1], *verdict_path = argv[optind + 2];
  /* Whatever the launcher leaked (lmig refuses e.g. a pipe whose other end
   * is outside the process): keep stdio only. */
  close_range(3, ~0U, 0);

  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  if (use_handler) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0) {
      perror("bench_memhog: sigaction");
      return 2;
    }
  } else if (sigprocmask(SIG_BLOCK, &usr1, NULL) < 0) {
    perror("bench_memhog: sigprocmask");
    return 2;
  }

  const size_t share_mib = mib / (nchildren + 1) ? mib / (nchildren + 1) : 1;
  const size_t bytes = share_mib << 20;
  const size_t words = bytes / sizeof(uint64_t);
  const size_t pages = bytes / PAGE;
  uint64_t *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    perror("bench_memhog: mmap");
    return 2;
  }
  fill_pattern(mem, words);
  pid_t children[64];
  if (start_children(children, nchildren, bytes) < 0) {
    perror("bench_memhog: children");
    return 2;
  }

  char line[64];
  snprintf(line, sizeof line, "%ld ready\n", (long)getpid());
  if (write_file(ready_path, line) < 0) {
    perror("bench_memhog: ready file");
    return 2;
  }

  /* Idle: one page a millisecond, read and written back unchanged. While an
   * access pattern waits for the migration, tick every 50 us instead (and
   * still dirty one page per ms), looking at getppid() after each sleep. */
  const double deadline = now_s() + max_seconds;
  const pid_t parent = getppid();
  if (after != AFTER_NONE)
    prctl(PR_SET_TIMERSLACK, 5000UL, 0UL, 0UL, 0UL); /* 5 us, not 50 */
  uint64_t last_tick = now_ns();
  size_t tick = 0, dirtied = 0, wait_tick = 0;
  int timed_out = 0;
  while (!g_verify) {
    const int waiting = after != AFTER_NONE;
    struct timespec ms = {0, waiting ? 50000 : 1000000};
    if (use_handler)
      nanosleep(&ms, NULL);
    else if (sigtimedwait(&usr1, NULL, &ms) == SIGUSR1)
      g_verify = 1;
    if (waiting) {
      uint64_t t = now_ns();
      if (getppid() != parent) {
        /* Migrated: run the access pattern now, then idle as before. */
        double gap_ms = (double)(t - last_tick) / 1e6;
        int r = after == AFTER_RANDOM
                    ? after_random((const unsigned char *)mem, pages, (size_t)touches,
                                   results_path, gap_ms)
                    : after_sequential((const unsigned char *)mem, pages, results_path, gap_ms);
        if (r < 0)
          perror("bench_memhog: results file");
        after = AFTER_NONE;
      }
      last_tick = t;
      if (++wait_tick % 20 != 0)
        continue;
    }
    volatile uint64_t *w = &mem[(dirtied % pages) * (PAGE / sizeof(uint64_t)) +
                                (dirtied / pages) % (PAGE / sizeof(uint64_t))];
    *w = *w;
    dirtied++;
    if (++tick % 1024 == 0 && now_s() > deadline) {
      timed_out = 1;
      break;
    }
  }

  char verdict[256];
  if (timed_out) {
    snprintf(verdict, sizeof verdict, "FAIL timeout: no SIGUSR1 within %.0f s\n", max_seconds);
  } else {
    size_t first = 0;
    const size_t bad = count_bad(mem, words, &first);
    const uint64_t want = bad ? pattern((uintptr_t)&mem[first]) : 0;
    const uint64_t got = bad ? mem[first] : 0;
    const char *child_failure = bad ? NULL : check_children(children, nchildren);
    if (child_failure)
      snprintf(verdict, sizeof verdict, "FAIL %s\n", child_failure);
    else if (!bad)
      snprintf(verdict, sizeof verdict, "PASS\n");
    else
      snprintf(verdict, sizeof verdict,
               "FAIL %zu of %zu words differ; first at offset %zu (address %p): "
               "expected %016" PRIx64 " got %016" PRIx64 "\n",
               bad, words, first * sizeof(uint64_t), (void *)&mem[first], want, got);
  }
  if (write_file(verdict_path, verdict) < 0) {
    perror("bench_memhog: verdict file");
    return 2;
  }
  return strncmp(verdict, "PASS", 4) == 0 ? 0 : 1;
}

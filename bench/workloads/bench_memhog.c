/*
 * bench_memhog: the workload of the end-to-end migration benchmarks.
 *
 *   bench_memhog [--sigwait] [--max-seconds S] MIB READY_FILE VERDICT_FILE
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
 * It holds no descriptor between the two files (lmig moves it while it
 * idles): whoever starts it redirects stdio to /dev/null and closes the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"sigwait", no_argument, NULL, 's'},
      {"max-seconds", required_argument, NULL, 'm'},
      {NULL, 0, NULL, 0},
  };
  int use_handler = 1;
  double max_seconds = 3600.0;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 's': use_handler = 0; break;
    case 'm': max_seconds = strtod(optarg, NULL); break;
    default: argc = 0; break;
    }
  }
  if (argc == 0 || argc - optind != 3 || !(max_seconds > 0)) {
    fprintf(stderr, "usage: %s [--sigwait] [--max-seconds S] MIB READY_FILE VERDICT_FILE\n",
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

  const size_t bytes = (size_t)mib << 20;
  const size_t words = bytes / sizeof(uint64_t);
  const size_t pages = bytes / PAGE;
  uint64_t *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    perror("bench_memhog: mmap");
    return 2;
  }
  for (size_t i = 0; i < words; i++)
    mem[i] = pattern((uintptr_t)&mem[i]);

  char line[64];
  snprintf(line, sizeof line, "%ld ready\n", (long)getpid());
  if (write_file(ready_path, line) < 0) {
    perror("bench_memhog: ready file");
    return 2;
  }

  /* Idle: one page a millisecond, read and written back unchanged. */
  const double deadline = now_s() + max_seconds;
  size_t tick = 0;
  int timed_out = 0;
  while (!g_verify) {
    struct timespec ms = {0, 1000000};
    if (use_handler)
      nanosleep(&ms, NULL);
    else if (sigtimedwait(&usr1, NULL, &ms) == SIGUSR1)
      g_verify = 1;
    volatile uint64_t *w = &mem[(tick % pages) * (PAGE / sizeof(uint64_t)) +
                                (tick / pages) % (PAGE / sizeof(uint64_t))];
    *w = *w;
    if (++tick % 1024 == 0 && now_s() > deadline) {
      timed_out = 1;
      break;
    }
  }

  char verdict[256];
  if (timed_out) {
    snprintf(verdict, sizeof verdict, "FAIL timeout: no SIGUSR1 within %.0f s\n", max_seconds);
  } else {
    size_t bad = 0, first = 0;
    uint64_t want = 0, got = 0;
    for (size_t i = 0; i < words; i++) {
      uint64_t e = pattern((uintptr_t)&mem[i]);
      if (mem[i] != e) {
        if (!bad++) {
          first = i;
          want = e;
          got = mem[i];
        }
      }
    }
    if (!bad)
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

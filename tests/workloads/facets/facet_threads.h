/*
 * facet_threads.h: worker threads for the thread facets, each busy in one
 * way a migration must carry on from: asleep in nanosleep, blocked on a
 * futex (a condition variable), blocked in read() on a pipe, waiting in
 * poll() or epoll_wait() for a pipe with no timeout (a call the freeze
 * interrupts must go on as if nothing happened: no EINTR), computing with
 * the vector registers. Every worker notes its TID at start and again on
 * each round, counts its rounds, and records what went wrong in `why`.
 * SIGUSR1 (the check request) is blocked in every worker: it belongs to the
 * main thread.
 */
#ifndef LMIG_FACET_THREADS_H
#define LMIG_FACET_THREADS_H

#include <cpuid.h>
#include <poll.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "facet.h"

enum fw_kind { FW_SLEEPER, FW_FUTEX, FW_PIPE, FW_SIMD, FW_POLL, FW_EPOLL };

struct facet_worker {
  const char *name;
  enum fw_kind kind;
  pthread_t th;
  pid_t tid;              /* gettid() at start */
  atomic_ulong rounds;    /* completed rounds */
  atomic_int tid_changed; /* gettid() differed once */
  char why[160];          /* first thing that went wrong, "" if none */
  /* sleeper */
  long long max_late_ns;
  /* futex and pipe: kicks asked and answered */
  atomic_uint kicks, answered;
  int pipe_in[2];
  int epfd;
};

static pthread_mutex_t fw_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fw_cv = PTHREAD_COND_INITIALIZER;

static void fw_note(struct facet_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fw_note(struct facet_worker *w, const char *fmt, ...) {
  if (w->why[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->why, sizeof w->why, fmt, ap);
  va_end(ap);
}

static void fw_round(struct facet_worker *w) {
  if ((pid_t)syscall(SYS_gettid) != w->tid)
    atomic_store(&w->tid_changed, 1);
  atomic_fetch_add(&w->rounds, 1);
}

static uint64_t fw_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleeps 300 ms at a time in nanosleep (with rem: an interrupted sleep
 * goes on for what is left); never wakes early. */
static void *fw_sleeper(void *arg) {
  struct facet_worker *w = arg;
  w->tid = (pid_t)syscall(SYS_gettid);
  for (;;) {
    const long long want = 300 * 1000000ll;
    uint64_t t0 = fw_now();
    struct timespec req = {0, want}, rem;
    while (nanosleep(&req, &rem) < 0 && errno == EINTR)
      req = rem;
    long long slept = (long long)(fw_now() - t0);
    if (slept < want)
      fw_note(w, "nanosleep of %lld ms woke after %lld us", want / 1000000, slept / 1000);
    if (slept - want > w->max_late_ns)
      w->max_late_ns = slept - want;
    fw_round(w);
  }
  return NULL;
}

/* Waits on a condition variable (FUTEX_WAIT in the kernel) for a kick. */
static void *fw_futex(void *arg) {
  struct facet_worker *w = arg;
  w->tid = (pid_t)syscall(SYS_gettid);
  pthread_mutex_lock(&fw_mu);
  for (;;) {
    while (atomic_load(&w->answered) == atomic_load(&w->kicks))
      pthread_cond_wait(&fw_cv, &fw_mu);
    atomic_fetch_add(&w->answered, 1);
    fw_round(w);
  }
  return NULL;
}

/* Blocked in read() on a pipe (or first in poll() or epoll_wait() for it,
 * with no timeout); each byte is a kick, echoed as an answer. */
static void *fw_pipe(void *arg) {
  struct facet_worker *w = arg;
  w->tid = (pid_t)syscall(SYS_gettid);
  for (;;) {
    if (w->kind == FW_POLL) {
      struct pollfd p = {w->pipe_in[0], POLLIN, 0};
      int r = poll(&p, 1, -1);
      if (r != 1)
        fw_note(w, "poll with no timeout returned %d (%s)", r, r < 0 ? strerror(errno) : "");
    } else if (w->kind == FW_EPOLL) {
      struct epoll_event ev;
      int r = epoll_wait(w->epfd, &ev, 1, -1);
      if (r != 1)
        fw_note(w, "epoll_wait with no timeout returned %d (%s)", r,
                r < 0 ? strerror(errno) : "");
    }
    unsigned char b;
    ssize_t n = read(w->pipe_in[0], &b, 1);
    if (n != 1) {
      fw_note(w, "read on the pipe returned %zd (%s)", n, n < 0 ? strerror(errno) : "EOF");
      continue;
    }
    if (b != (unsigned char)(atomic_load(&w->answered) + 1))
      fw_note(w, "pipe byte %u, expected %u", b, (unsigned)(atomic_load(&w->answered) + 1) & 255);
    atomic_fetch_add(&w->answered, 1);
    fw_round(w);
  }
  return NULL;
}

/* Holds a pattern in every vector register through a long loop of
 * operations that leave them unchanged, then checks them: a migration that
 * drops vector state in the middle shows. AVX-512 (zmm0-31 and the mask
 * registers) where the CPU has it, AVX2 (ymm0-15) otherwise. */
static int fw_has_avx512(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
    return 0;
  if (!(b & (1u << 16))) /* AVX512F */
    return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xe6) == 0xe6; /* the OS saves opmask, ZMM_Hi256, Hi16_ZMM */
}

__attribute__((target("avx2"))) static int fw_avx2_round(const uint64_t *in, uint64_t *out) {
  __asm__ volatile(
      "vmovdqu 0(%0), %%ymm0\n\t vmovdqu 32(%0), %%ymm1\n\t vmovdqu 64(%0), %%ymm2\n\t"
      "vmovdqu 96(%0), %%ymm3\n\t vmovdqu 128(%0), %%ymm4\n\t vmovdqu 160(%0), %%ymm5\n\t"
      "vmovdqu 192(%0), %%ymm6\n\t vmovdqu 224(%0), %%ymm7\n\t vmovdqu 256(%0), %%ymm8\n\t"
      "vmovdqu 288(%0), %%ymm9\n\t vmovdqu 320(%0), %%ymm10\n\t vmovdqu 352(%0), %%ymm11\n\t"
      "vmovdqu 384(%0), %%ymm12\n\t vmovdqu 416(%0), %%ymm13\n\t vmovdqu 448(%0), %%ymm14\n\t"
      "vmovdqu 480(%0), %%ymm15\n\t"
      "mov $20000000, %%ecx\n"
      "1:\n\t"
      "vpaddq %%ymm15, %%ymm0, %%ymm0\n\t vpsubq %%ymm15, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm14, %%ymm1, %%ymm1\n\t vpxor %%ymm14, %%ymm1, %%ymm1\n\t"
      "dec %%ecx\n\t jnz 1b\n\t"
      "vmovdqu %%ymm0, 0(%1)\n\t vmovdqu %%ymm1, 32(%1)\n\t vmovdqu %%ymm2, 64(%1)\n\t"
      "vmovdqu %%ymm3, 96(%1)\n\t vmovdqu %%ymm4, 128(%1)\n\t vmovdqu %%ymm5, 160(%1)\n\t"
      "vmovdqu %%ymm6, 192(%1)\n\t vmovdqu %%ymm7, 224(%1)\n\t vmovdqu %%ymm8, 256(%1)\n\t"
      "vmovdqu %%ymm9, 288(%1)\n\t vmovdqu %%ymm10, 320(%1)\n\t vmovdqu %%ymm11, 352(%1)\n\t"
      "vmovdqu %%ymm12, 384(%1)\n\t vmovdqu %%ymm13, 416(%1)\n\t vmovdqu %%ymm14, 448(%1)\n\t"
      "vmovdqu %%ymm15, 480(%1)\n\t vzeroupper\n\t"
      :
      : "r"(in), "r"(out)
      : "rcx", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  return 512;
}

__attribute__((target("avx512f"))) static int fw_avx512_round(const uint64_t *in,
                                                              uint64_t *out) {
  __asm__ volatile(
      "vmovdqu64 0(%0), %%zmm0\n\t vmovdqu64 64(%0), %%zmm1\n\t vmovdqu64 128(%0), %%zmm2\n\t"
      "vmovdqu64 192(%0), %%zmm3\n\t vmovdqu64 256(%0), %%zmm16\n\t vmovdqu64 320(%0), %%zmm17\n\t"
      "vmovdqu64 384(%0), %%zmm30\n\t vmovdqu64 448(%0), %%zmm31\n\t"
      "kmovw 512(%0), %%k1\n\t kmovw 514(%0), %%k7\n\t"
      "mov $20000000, %%ecx\n"
      "1:\n\t"
      "vpaddq %%zmm31, %%zmm0, %%zmm0\n\t vpsubq %%zmm31, %%zmm0, %%zmm0\n\t"
      "vpxorq %%zmm30, %%zmm17, %%zmm17\n\t vpxorq %%zmm30, %%zmm17, %%zmm17\n\t"
      "dec %%ecx\n\t jnz 1b\n\t"
      "vmovdqu64 %%zmm0, 0(%1)\n\t vmovdqu64 %%zmm1, 64(%1)\n\t vmovdqu64 %%zmm2, 128(%1)\n\t"
      "vmovdqu64 %%zmm3, 192(%1)\n\t vmovdqu64 %%zmm16, 256(%1)\n\t vmovdqu64 %%zmm17, 320(%1)\n\t"
      "vmovdqu64 %%zmm30, 384(%1)\n\t vmovdqu64 %%zmm31, 448(%1)\n\t"
      "kmovw %%k1, 512(%1)\n\t kmovw %%k7, 514(%1)\n\t vzeroupper\n\t"
      :
      : "r"(in), "r"(out)
      : "rcx", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm16", "xmm17", "xmm30", "xmm31",
        "k1", "k7");
  return 516;
}

static void *fw_simd(void *arg) {
  struct facet_worker *w = arg;
  w->tid = (pid_t)syscall(SYS_gettid);
  const int avx512 = fw_has_avx512();
  w->name = avx512 ? "AVX-512" : "AVX2";
  uint64_t in[72] __attribute__((aligned(64))), out[72] __attribute__((aligned(64)));
  for (uint64_t round = 0;; round++) {
    for (int i = 0; i < 72; i++)
      in[i] = facet_mix(round * 131 + (uint64_t)i);
    memset(out, 0, sizeof out);
    int n = avx512 ? fw_avx512_round(in, out) : fw_avx2_round(in, out);
    long at = memcmp(in, out, (size_t)n) ? facet_differs(out, (size_t)n, 0) : -1;
    if (memcmp(in, out, (size_t)n))
      fw_note(w, "%s registers changed in round %llu (first difference near word %ld)",
              w->name, (unsigned long long)round, at);
    fw_round(w);
  }
  return NULL;
}

/* Starts a worker of that kind with every signal blocked. */
static int fw_start(struct facet_worker *w, enum fw_kind kind) {
  static const char *const names[] = {"nanosleep", "futex", "pipe read", "SIMD", "poll",
                                      "epoll_wait"};
  static void *(*const mains[])(void *) = {fw_sleeper, fw_futex, fw_pipe,
                                           fw_simd,    fw_pipe,  fw_pipe};
  w->kind = kind;
  w->name = names[kind];
  const int piped = kind == FW_PIPE || kind == FW_POLL || kind == FW_EPOLL;
  if (piped && pipe(w->pipe_in) < 0)
    return facet_fail("pipe: %s", strerror(errno)), -1;
  if (kind == FW_EPOLL) {
    struct epoll_event ev = {.events = EPOLLIN};
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->pipe_in[0], &ev) < 0)
      return facet_fail("epoll: %s", strerror(errno)), -1;
  }
  int r = facet_thread(&w->th, NULL, mains[kind], w);
  if (r)
    return facet_fail("pthread_create: %s", strerror(r)), -1;
  for (int i = 0; i < 5000 && !w->tid; i++)
    usleep(1000);
  return w->tid ? 0 : (facet_fail("%s thread did not start", w->name), -1);
}

/* Waits (up to 10 s) until the worker has done `more` rounds beyond now. */
static int fw_progress(struct facet_worker *w, unsigned long more) {
  unsigned long start = atomic_load(&w->rounds);
  for (int i = 0; i < 10000; i++) {
    if (atomic_load(&w->rounds) >= start + more)
      return 1;
    usleep(1000);
  }
  return facet_fail("%s thread (TID %d) made no progress: %lu rounds", w->name, w->tid,
                    atomic_load(&w->rounds));
}

/* Kicks a futex or pipe worker and waits for its answer. */
static int fw_kick(struct facet_worker *w) {
  unsigned k = atomic_fetch_add(&w->kicks, 1) + 1;
  if (w->kind != FW_FUTEX) {
    unsigned char b = (unsigned char)k;
    if (write(w->pipe_in[1], &b, 1) != 1)
      return facet_fail("write to the pipe: %s", strerror(errno));
  } else {
    pthread_mutex_lock(&fw_mu);
    pthread_cond_broadcast(&fw_cv);
    pthread_mutex_unlock(&fw_mu);
  }
  for (int i = 0; i < 10000; i++) {
    if (atomic_load(&w->answered) >= k)
      return 1;
    usleep(1000);
  }
  return facet_fail("%s thread (TID %d) did not answer kick %u", w->name, w->tid, k);
}

/* What every worker must show: same TID, nothing wrong, still working. */
static int fw_check(struct facet_worker *w) {
  if (atomic_load(&w->tid_changed))
    return facet_fail("%s thread: gettid() is no longer %d", w->name, w->tid);
  if (syscall(SYS_tgkill, getpid(), w->tid, 0) < 0)
    return facet_fail("%s thread: no thread with TID %d in this process", w->name, w->tid);
  if (w->why[0])
    return facet_fail("%s thread: %s", w->name, w->why);
  switch (w->kind) {
  case FW_FUTEX:
  case FW_PIPE:
  case FW_POLL:
  case FW_EPOLL: return fw_kick(w);
  case FW_SLEEPER:
    if (!fw_progress(w, 2)) /* one whole sleep at least */
      return 0;
    /* late by the time the move took at most (and a noisy machine) */
    if (w->max_late_ns > 2000ll * 1000000)
      return facet_fail("a 300 ms nanosleep ended %lld ms late", w->max_late_ns / 1000000);
    return 1;
  case FW_SIMD: return fw_progress(w, 1);
  }
  return 0;
}

/* A facet made of these workers only: started in the setup, each checked
 * by every check. */
#define FW_WORKERS_FACET(...)                                                    \
  static const enum fw_kind fw_kinds[] = {__VA_ARGS__};                         \
  static struct facet_worker fw_workers[sizeof fw_kinds / sizeof fw_kinds[0]];  \
  FACET_SETUP(dir) {                                                             \
    (void)dir;                                                                   \
    for (size_t i = 0; i < sizeof fw_kinds / sizeof fw_kinds[0]; i++)            \
      if (fw_start(&fw_workers[i], fw_kinds[i]))                                 \
        return 1;                                                                \
    return 0;                                                                    \
  }                                                                              \
  FACET_CHECK(seq) {                                                             \
    (void)seq;                                                                   \
    for (size_t i = 0; i < sizeof fw_kinds / sizeof fw_kinds[0]; i++)            \
      if (!fw_check(&fw_workers[i]))                                             \
        return 0;                                                                \
    return facet_pass();                                                         \
  }

#endif

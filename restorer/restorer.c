/*
 * The restorer: freestanding code that runs inside the process being
 * restored, from a region placed in a hole of the saved layout. It throws
 * away the restore child's address space, rebuilds the saved one, lets lmigd
 * fill it (or attaches a userfaultfd for post-copy), restores what only the
 * process itself can set, and enters the saved context through rt_sigreturn.
 *
 * No libc: raw system calls only, no relocations, no global pointers.
 */
#include <stddef.h>
#include <stdint.h>

#include "restorer/identity.h"
#include "restorer/restorer_args.h"
#include "restorer/sys.h"
#include <linux/ioctl.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>

extern char __restorer_image_end[];
void restorer_entry(void);
void restorer_self_unmap(void);
void restorer_sigreturn(void *uc) __attribute__((noreturn));
void restorer_main(struct lmig_rst_args *a) __attribute__((noreturn, used));
void restorer_thread_main(struct lmig_rst_args *a, struct lmig_rst_thread *t)
    __attribute__((noreturn, used));
long restorer_clone_thread(struct clone_args *ca, uint64_t size, struct lmig_rst_args *a,
                           struct lmig_rst_thread *t);

__attribute__((section(".lmig_header"), used)) static const struct lmig_restorer_header header = {
    .magic = LMIG_RST_HEADER_MAGIC,
    .entry = (uint64_t)(uintptr_t)&restorer_entry,
    .self_unmap = (uint64_t)(uintptr_t)&restorer_self_unmap,
    .image_end = (uint64_t)(uintptr_t)__restorer_image_end,
};

/* The compiler may emit calls to these for struct copies. */
void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n--)
    *d++ = *s++;
  return dst;
}
void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n--)
    *d++ = (unsigned char)c;
  return dst;
}

#define AT(a, off, type) ((type)((char *)(a) + (off)))

static void send_msg(int fd, uint32_t type, uint32_t step, long err, uint64_t arg, int pass_fd) {
  struct lmig_rst_msg m = {.type = type, .step = step, .err = err, .arg = arg};
  struct {
    void *base;
    uint64_t len;
  } iov = {&m, sizeof m};
  union {
    char buf[24]; /* CMSG_SPACE(sizeof(int)) */
    uint64_t align;
  } cbuf;
  struct {
    void *name;
    uint32_t namelen;
    uint32_t pad0;
    void *iov;
    uint64_t iovlen;
    void *control;
    uint64_t controllen;
    int flags;
    int pad1;
  } msg = {0, 0, 0, &iov, 1, 0, 0, 0, 0};
  if (pass_fd >= 0) {
    struct {
      uint64_t len;
      int level;
      int type;
      int fd;
      int pad;
    } *c = (void *)cbuf.buf;
    c->len = 20; /* CMSG_LEN(sizeof(int)) */
    c->level = R_SOL_SOCKET;
    c->type = R_SCM_RIGHTS;
    c->fd = pass_fd;
    msg.control = cbuf.buf;
    msg.controllen = sizeof cbuf.buf;
  }
  rsys3(NR_sendmsg, fd, &msg, 0);
}

__attribute__((noreturn)) static void fail(struct lmig_rst_args *a, uint32_t step, long err,
                                           uint64_t arg) {
  send_msg(a->ctl_fd, LMIG_RST_MSG_ERROR, step, err, arg, -1);
  rsys1(NR_exit_group, 100 + step);
  __builtin_unreachable();
}

/* Unmaps everything but the region and the kernel's special mappings. */
static void unmap_foreign(struct lmig_rst_args *a) {
  uint64_t keep_start[LMIG_SPECIAL_MAX + 1], keep_end[LMIG_SPECIAL_MAX + 1];
  uint32_t n = 0;
  keep_start[n] = a->region_start;
  keep_end[n++] = a->region_start + a->region_len;
  for (uint32_t i = 0; i < a->nr_special; i++) {
    keep_start[n] = a->special[i].cur_start;
    keep_end[n++] = a->special[i].cur_start + a->special[i].len;
  }
  for (uint32_t i = 1; i < n; i++) /* insertion sort: a handful of entries */
    for (uint32_t j = i; j > 0 && keep_start[j - 1] > keep_start[j]; j--) {
      uint64_t s = keep_start[j], e = keep_end[j];
      keep_start[j] = keep_start[j - 1];
      keep_end[j] = keep_end[j - 1];
      keep_start[j - 1] = s;
      keep_end[j - 1] = e;
    }
  uint64_t cursor = 0;
  for (uint32_t i = 0; i <= n; i++) {
    uint64_t stop = i < n ? keep_start[i] : a->task_size;
    if (stop > cursor) {
      long r = rsys2(NR_munmap, cursor, stop - cursor);
      if (r < 0)
        fail(a, LMIG_RST_STEP_UNMAP, r, cursor);
    }
    if (i < n && keep_end[i] > cursor)
      cursor = keep_end[i];
  }
}

/* Moves [vvar], [vdso] ... to the source's addresses, through staging spots
 * in the region so that a move never lands on a piece not yet moved. */
static void move_special(struct lmig_rst_args *a) {
  for (uint32_t i = 0; i < a->nr_special; i++) {
    struct lmig_rst_special *s = &a->special[i];
    long r;
    if (!s->saved_start) {
      r = rsys2(NR_munmap, s->cur_start, s->len);
    } else {
      r = rsys5(NR_mremap, s->cur_start, s->len, s->len, R_MREMAP_MAYMOVE | R_MREMAP_FIXED,
                s->staging);
    }
    if (r < 0)
      fail(a, LMIG_RST_STEP_SPECIAL, r, i);
  }
  for (uint32_t i = 0; i < a->nr_special; i++) {
    struct lmig_rst_special *s = &a->special[i];
    if (!s->saved_start)
      continue;
    long r = rsys5(NR_mremap, s->staging, s->len, s->len, R_MREMAP_MAYMOVE | R_MREMAP_FIXED,
                   s->saved_start);
    if (r < 0)
      fail(a, LMIG_RST_STEP_SPECIAL, r, i);
  }
}

/* The madvise state a VMA had: huge-page advice before any page goes in
 * (so that filling it makes huge pages), fork and dump behaviour,
 * read-ahead. */
static void advise_vma(struct lmig_rst_args *a, struct lmig_rst_vma *v, uint32_t i) {
  static const struct {
    uint32_t flag;
    int advice;
  } advice[] = {{LMIG_VMA_HUGEPAGE, R_MADV_HUGEPAGE},   {LMIG_VMA_NOHUGEPAGE, R_MADV_NOHUGEPAGE},
                {LMIG_VMA_DONTFORK, R_MADV_DONTFORK},   {LMIG_VMA_WIPEONFORK, R_MADV_WIPEONFORK},
                {LMIG_VMA_DONTDUMP, R_MADV_DONTDUMP},   {LMIG_VMA_SEQREAD, R_MADV_SEQUENTIAL},
                {LMIG_VMA_RANDREAD, R_MADV_RANDOM}};
  for (uint32_t k = 0; k < sizeof advice / sizeof advice[0]; k++) {
    if (!(v->flags & advice[k].flag))
      continue;
    long r = rsys3(NR_madvise, v->start, v->end - v->start, advice[k].advice);
    if (r < 0)
      fail(a, LMIG_RST_STEP_MADVISE, r, i);
  }
}

static void map_vmas(struct lmig_rst_args *a) {
  struct lmig_rst_vma *v = AT(a, a->vmas_off, struct lmig_rst_vma *);
  for (uint32_t i = 0; i < a->nr_vmas; i++, v++) {
    int fd = -1;
    if (v->flags & LMIG_VMA_MAPFD) {
      fd = v->map_fd;
    } else if (!(v->flags & LMIG_VMA_ANON)) {
      fd = (int)rsys3(NR_open, AT(a, v->path_off, const char *), v->open_flags | R_O_CLOEXEC, 0);
      if (fd < 0)
        fail(a, LMIG_RST_STEP_OPEN_VMA, fd, i);
    }
    uint32_t prot = v->prot;
    if (v->flags & LMIG_VMA_FILL)
      prot |= R_PROT_READ | R_PROT_WRITE;
    long flags = R_MAP_FIXED | ((v->flags & LMIG_VMA_SHARED) ? R_MAP_SHARED : R_MAP_PRIVATE);
    if (v->flags & LMIG_VMA_ANON)
      flags |= R_MAP_ANONYMOUS;
    if (v->flags & LMIG_VMA_GROWSDOWN)
      flags |= R_MAP_GROWSDOWN;
    if (v->flags & LMIG_VMA_NORESERVE)
      flags |= R_MAP_NORESERVE;
    long r = rsys6(NR_mmap, (long)v->start, (long)(v->end - v->start), prot, flags, fd,
                   (long)((v->flags & LMIG_VMA_ANON) ? 0 : v->pgoff));
    if (fd >= 0 && !(v->flags & LMIG_VMA_MAPFD))
      rsys1(NR_close, fd);
    if (r < 0)
      fail(a, LMIG_RST_STEP_MAP_VMA, r, i);
    if ((uint64_t)r != v->start)
      fail(a, LMIG_RST_STEP_MAP_VMA, -22, i);
    advise_vma(a, v, i);
  }
  /* The shmem inodes the restore child held open for us: mapped now (several
   * VMAs may share one fd; closing it again is a harmless EBADF). */
  v = AT(a, a->vmas_off, struct lmig_rst_vma *);
  for (uint32_t i = 0; i < a->nr_vmas; i++, v++)
    if (v->flags & LMIG_VMA_MAPFD)
      rsys1(NR_close, v->map_fd);
}

/* Locked VMAs are locked once their pages are in (stop-copy) or while the
 * pager serves them (post-copy: mlock faults the rest in through it). */
static void lock_vmas(struct lmig_rst_args *a) {
  struct lmig_rst_vma *v = AT(a, a->vmas_off, struct lmig_rst_vma *);
  for (uint32_t i = 0; i < a->nr_vmas; i++, v++) {
    if (!(v->flags & LMIG_VMA_LOCKED))
      continue;
    long r = (v->flags & LMIG_VMA_LOCKONFAULT)
                 ? rsys3(NR_mlock2, v->start, v->end - v->start, R_MLOCK_ONFAULT)
                 : rsys2(NR_mlock, v->start, v->end - v->start);
    if (r < 0)
      fail(a, LMIG_RST_STEP_MLOCK, r, i);
  }
  /* Only now: mappings made from here on are locked (none of the restored
   * ones is, unless it was). */
  if (a->mlockall_flags) {
    long r = rsys1(NR_mlockall, a->mlockall_flags);
    if (r < 0)
      fail(a, LMIG_RST_STEP_MLOCK, r, a->nr_vmas);
  }
}

/* One userfaultfd with every LAZY range registered for MISSING faults;
 * lmigd gets it over the control socket and installs the pages through it
 * (before GO in stop-copy, on demand in post-copy). */
static int attach_uffd(struct lmig_rst_args *a) {
  int uffd = (int)rsys1(NR_userfaultfd, R_O_CLOEXEC | R_O_NONBLOCK);
  if (uffd < 0)
    fail(a, LMIG_RST_STEP_UFFD, uffd, 0);
  struct uffdio_api api = {.api = UFFD_API, .features = a->uffd_features};
  long r = rsys3(NR_ioctl, uffd, UFFDIO_API, &api);
  if (r < 0)
    fail(a, LMIG_RST_STEP_UFFD, r, 1);
  struct lmig_rst_vma *v = AT(a, a->vmas_off, struct lmig_rst_vma *);
  for (uint32_t i = 0; i < a->nr_vmas; i++, v++) {
    if (!(v->flags & LMIG_VMA_LAZY))
      continue;
    struct uffdio_register reg = {
        .range = {.start = v->start, .len = v->end - v->start},
        .mode = UFFDIO_REGISTER_MODE_MISSING};
    r = rsys3(NR_ioctl, uffd, UFFDIO_REGISTER, &reg);
    if (r < 0)
      fail(a, LMIG_RST_STEP_UFFD, r, 2 + i);
  }
  return uffd;
}

static void wait_go(struct lmig_rst_args *a) {
  struct lmig_rst_msg m;
  for (;;) {
    long r = rsys6(NR_recvfrom, a->ctl_fd, (long)&m, sizeof m, 0, 0, 0);
    if (r == -4) /* EINTR */
      continue;
    if (r != (long)sizeof m || m.type != LMIG_RST_MSG_GO)
      rsys1(NR_exit_group, 100 + LMIG_RST_STEP_CTL);
    return;
  }
}

static void final_protections(struct lmig_rst_args *a) {
  struct lmig_rst_vma *v = AT(a, a->vmas_off, struct lmig_rst_vma *);
  for (uint32_t i = 0; i < a->nr_vmas; i++, v++) {
    if (!(v->flags & LMIG_VMA_FILL) || (v->prot & (R_PROT_READ | R_PROT_WRITE)) ==
                                           (R_PROT_READ | R_PROT_WRITE))
      continue;
    long r = rsys3(NR_mprotect, v->start, v->end - v->start, v->prot);
    if (r < 0)
      fail(a, LMIG_RST_STEP_PROTECT, r, i);
  }
}

struct prctl_mm_map_abi {
  uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack, arg_start,
      arg_end, env_start, env_end;
  uint64_t auxv;
  uint32_t auxv_size;
  uint32_t exe_fd;
};

static void restore_mm(struct lmig_rst_args *a) {
  int exe_fd = -1;
  if (a->mm.exe_path_off) {
    exe_fd = (int)rsys3(NR_open, AT(a, a->mm.exe_path_off, const char *), R_O_CLOEXEC, 0);
    if (exe_fd < 0)
      fail(a, LMIG_RST_STEP_EXE, exe_fd, 0);
  }
  struct prctl_mm_map_abi m = {
      .start_code = a->mm.start_code,
      .end_code = a->mm.end_code,
      .start_data = a->mm.start_data,
      .end_data = a->mm.end_data,
      .start_brk = a->mm.start_brk,
      .brk = a->mm.brk,
      .start_stack = a->mm.start_stack,
      .arg_start = a->mm.arg_start,
      .arg_end = a->mm.arg_end,
      .env_start = a->mm.env_start,
      .env_end = a->mm.env_end,
      .auxv = a->mm.auxv_size ? (uint64_t)(uintptr_t)AT(a, a->mm.auxv_off, void *) : 0,
      .auxv_size = a->mm.auxv_size,
      .exe_fd = (uint32_t)exe_fd,
  };
  long r = rsys5(NR_prctl, R_PR_SET_MM, R_PR_SET_MM_MAP, &m, sizeof m, 0);
  if (exe_fd >= 0)
    rsys1(NR_close, exe_fd);
  if (r < 0)
    fail(a, LMIG_RST_STEP_MM, r, 0);
}

static void restore_signals(struct lmig_rst_args *a) {
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == 9 || sig == 19 || !(a->sigaction_valid & (1ull << (sig - 1))))
      continue;
    long r = rsys4(NR_rt_sigaction, sig, &a->sigactions[sig - 1], 0, 8);
    if (r < 0)
      fail(a, LMIG_RST_STEP_SIGACTION, r, (uint64_t)sig);
  }
}

static void restore_rlimits(struct lmig_rst_args *a) {
  for (uint32_t i = 0; i < a->nr_rlimits && i < 16; i++) {
    uint64_t lim[2] = {a->rlimits[i].cur, a->rlimits[i].max};
    long r = rsys4(NR_prlimit64, 0, a->rlimits[i].resource, lim, 0);
    if (r < 0)
      fail(a, LMIG_RST_STEP_RLIMIT, r, a->rlimits[i].resource);
  }
}

/* Guard pages (MADV_GUARD_INSTALL) where the source had them: before any
 * page is written, which a guard would throw away. */
static void install_guards(struct lmig_rst_args *a) {
  const struct lmig_rst_range *g = AT(a, a->guards_off, const struct lmig_rst_range *);
  for (uint32_t i = 0; i < a->nr_guards; i++) {
    long r = rsys3(NR_madvise, g[i].start, g[i].len, R_MADV_GUARD_INSTALL);
    if (r < 0)
      fail(a, LMIG_RST_STEP_GUARD, r, g[i].start);
  }
}

/* The audit login uid: only the task itself may write it, and only while
 * it holds CAP_AUDIT_CONTROL (before its own credentials). */
static void restore_loginuid(struct lmig_rst_args *a) {
  if (a->proc.loginuid < 0)
    return;
  char text[12];
  uint32_t n = 0;
  uint64_t v = (uint64_t)a->proc.loginuid;
  char rev[12];
  do {
    rev[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && n < sizeof rev);
  for (uint32_t i = 0; i < n; i++)
    text[i] = rev[n - 1 - i];
  long fd = rsys3(NR_open, "/proc/self/loginuid", R_O_WRONLY | R_O_CLOEXEC, 0);
  if (fd < 0)
    fail(a, LMIG_RST_STEP_LOGINUID, fd, (uint64_t)a->proc.loginuid);
  long w = rsys3(NR_write, fd, text, n);
  rsys1(NR_close, fd);
  if (w != (long)n)
    fail(a, LMIG_RST_STEP_LOGINUID, w < 0 ? w : -5, (uint64_t)a->proc.loginuid);
}

/* Once the layout is final: READ_IMPLIES_EXEC would have widened the
 * protections of the mappings just made. */
static void restore_personality(struct lmig_rst_args *a) {
  long r = rsys1(NR_personality, a->proc.personality);
  if (r < 0)
    fail(a, LMIG_RST_STEP_PERSONALITY, r, a->proc.personality);
  if (a->proc.thp_disable) {
    r = rsys5(NR_prctl, R_PR_SET_THP_DISABLE, 1, 0, 0, 0);
    if (r < 0)
      fail(a, LMIG_RST_STEP_THP, r, 1);
  }
  for (uint32_t bit = 1; bit; bit <<= 1) {
    if (!(a->proc.membarrier & bit))
      continue;
    r = rsys3(NR_membarrier, bit, 0, 0);
    if (r < 0)
      fail(a, LMIG_RST_STEP_MEMBARRIER, r, bit);
  }
  restore_loginuid(a);
}

/* What each thread sets for itself last: credentials (the kernel keeps them
 * per thread), what their change resets, and seccomp, after which only the
 * close of the control socket and rt_sigreturn run (lmigd traces the thread
 * with seccomp suspended until it lets go). */
static void restore_thread_identity(struct lmig_rst_args *a, struct lmig_rst_thread *t) {
  uint32_t step = 0;
  uint64_t arg = 0;
  long r = lmig_restore_creds(a, &step, &arg);
  if (r >= 0)
    r = lmig_restore_cred_dependent(a, t, &step, &arg);
  if (r >= 0)
    r = lmig_restore_seccomp(a, t, &step, &arg);
  if (r < 0)
    fail(a, step, r, arg);
}

/* A POSIX timer queues its own signal: armed at an absolute time already
 * past, it fires at once (every signal is blocked, so the signal stays
 * queued and the timer keeps counting overruns against it, as on the
 * source). Firing is asynchronous: wait for it, so that signals re-queued
 * after this one stay behind it. */
static void timer_requeue(struct lmig_rst_args *a, struct lmig_rst_siginfo *s) {
  struct {
    int64_t isec, insec, vsec, vnsec;
  } its = {(int64_t)(s->interval_ns / 1000000000ull), (int64_t)(s->interval_ns % 1000000000ull),
           (int64_t)(s->value_abs_ns / 1000000000ull), (int64_t)(s->value_abs_ns % 1000000000ull)},
    cur;
  long r = rsys4(NR_timer_settime, s->timer_id, 1 /* TIMER_ABSTIME */, &its, 0);
  if (r < 0)
    fail(a, LMIG_RST_STEP_TIMER_SIGNAL, r, (uint64_t)s->timer_id);
  for (int i = 0; i < 20000; i++) {
    r = rsys2(NR_timer_gettime, s->timer_id, &cur);
    if (r < 0)
      fail(a, LMIG_RST_STEP_TIMER_SIGNAL, r, (uint64_t)s->timer_id);
    /* Before it fires the overdue timer reads 1 ns; after, a one-shot one
     * reads disarmed and a periodic one its next period. */
    int overdue = cur.vsec == 0 && cur.vnsec <= 1;
    if ((s->interval_ns == 0 && cur.vsec == 0 && cur.vnsec == 0) ||
        (s->interval_ns != 0 && !overdue))
      return;
    struct {
      int64_t sec, nsec;
    } pause = {0, 50000};
    rsys2(NR_nanosleep, &pause, 0);
  }
  fail(a, LMIG_RST_STEP_TIMER_SIGNAL, -62 /* ETIME */, (uint64_t)s->timer_id);
}

/* Re-queues signals oldest first; tid 0: to the process. The process may
 * queue any siginfo to itself, si_code >= 0 (kill, the kernel) included. */
static void requeue_signals(struct lmig_rst_args *a, uint32_t off, uint32_t n, long tid) {
  struct lmig_rst_siginfo *s = AT(a, off, struct lmig_rst_siginfo *);
  long tgid = rsys0(NR_getpid);
  for (uint32_t i = 0; i < n; i++, s++) {
    if (s->timer_id >= 0) {
      timer_requeue(a, s);
      continue;
    }
    int32_t sig;
    memcpy(&sig, s->info, 4);
    long r = tid ? rsys4(NR_rt_tgsigqueueinfo, tgid, tid, sig, s->info)
                 : rsys3(NR_rt_sigqueueinfo, tgid, sig, s->info);
    if (r < 0)
      fail(a, LMIG_RST_STEP_SIGQUEUE, r, i);
  }
}

/* The POSIX timers that signal thread t, made with their ids once it
 * exists (by the leader, before any seccomp filter is in place). */
static void create_thread_timers(struct lmig_rst_args *a, struct lmig_rst_thread *t) {
  struct lmig_rst_timer *tm = AT(a, t->timers_off, struct lmig_rst_timer *);
  for (uint32_t i = 0; i < t->nr_timers; i++, tm++) {
    struct {
      uint64_t value;
      int32_t signo, notify, tid;
      int32_t pad[11];
    } sev;
    memset(&sev, 0, sizeof sev);
    sev.value = tm->sigval;
    sev.signo = tm->signo;
    sev.notify = tm->notify;
    sev.tid = t->tid;
    int32_t id = tm->id;
    long r = rsys3(NR_timer_create, tm->clockid, &sev, &id);
    if (r < 0)
      fail(a, LMIG_RST_STEP_POSIX_TIMER, r, (uint64_t)tm->id);
    if (id != tm->id)
      fail(a, LMIG_RST_STEP_POSIX_TIMER, -16 /* EBUSY */, (uint64_t)tm->id);
    if (!tm->deadline_ns || tm->armed_by_requeue)
      continue;
    struct {
      int64_t isec, insec, vsec, vnsec;
    } its = {(int64_t)(tm->interval_ns / 1000000000ull),
             (int64_t)(tm->interval_ns % 1000000000ull),
             (int64_t)(tm->deadline_ns / 1000000000ull),
             (int64_t)(tm->deadline_ns % 1000000000ull)};
    r = rsys4(NR_timer_settime, id, 1 /* TIMER_ABSTIME */, &its, 0);
    if (r < 0)
      fail(a, LMIG_RST_STEP_POSIX_TIMER, r, (uint64_t)tm->id);
  }
}

/* The thread's own queue (tgkill, rt_tgsigqueueinfo, thread-directed timers). */
static void restore_thread_pending(struct lmig_rst_args *a, struct lmig_rst_thread *t) {
  requeue_signals(a, t->pending_off, t->nr_pending, rsys0(NR_gettid));
}

/* The kernel's rt_sigframe on x86-64, as rt_sigreturn reads it. */
struct sigcontext_abi {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip,
      eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2, fpstate;
  uint64_t reserved1[8];
};
struct ucontext_abi {
  uint64_t uc_flags;
  uint64_t uc_link;
  uint64_t ss_sp;
  int32_t ss_flags;
  int32_t ss_pad;
  uint64_t ss_size;
  struct sigcontext_abi mcontext;
  uint64_t sigmask;
};
struct rt_sigframe_abi {
  uint64_t pretcode;
  struct ucontext_abi uc;
  uint8_t info[128];
};
_Static_assert(sizeof(struct sigcontext_abi) == 256, "sigcontext layout");
_Static_assert(offsetof(struct ucontext_abi, mcontext) == 40, "ucontext layout");
_Static_assert(sizeof(struct ucontext_abi) == 304, "ucontext layout");

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u

static struct lmig_rst_thread *thread_at(struct lmig_rst_args *a, uint32_t i) {
  return AT(a, a->threads_off, struct lmig_rst_thread *) + i;
}

/* Builds the thread's rt_sigframe in its scratch, sets what the frame does
 * not carry (thread pointer, rseq, robust list, clear_child_tid, name) and
 * enters the saved context. The leader goes last: it closes the control
 * socket once every other thread stands at its int3 (lmigd follows each
 * through rt_sigreturn before the region goes). */
__attribute__((noreturn)) static void enter_saved_context(struct lmig_rst_args *a,
                                                          struct lmig_rst_thread *t) {
  struct lmig_rst_regs *g = &t->regs;
  char *base = AT(a, t->frame_off, char *);
  /* fpstate first (64-byte aligned), the frame below it */
  uint64_t frame_addr = ((uint64_t)(uintptr_t)base + 64) & ~63ull;
  struct rt_sigframe_abi *f = (struct rt_sigframe_abi *)(uintptr_t)frame_addr;
  uint64_t fp_addr = (frame_addr + sizeof *f + 63) & ~63ull;
  char *fp = (char *)(uintptr_t)fp_addr;
  memset(f, 0, sizeof *f);

  if (t->xsave_size >= 512 + 64) {
    memcpy(fp, AT(a, t->xsave_off, char *), t->xsave_size);
    /* The ptrace dump keeps XCR0 in the first software-reserved word; the
     * signal frame wants its own description there (struct _fpx_sw_bytes),
     * and magic2 right after the area. Without them rt_sigreturn restores
     * only the legacy x87/SSE part and drops AVX and later state. */
    uint64_t xcr0;
    memcpy(&xcr0, fp + 464, 8);
    struct {
      uint32_t magic1, extended_size;
      uint64_t xfeatures;
      uint32_t xstate_size, padding[7];
    } sw = {FP_XSTATE_MAGIC1, t->xsave_size + 4, xcr0, t->xsave_size, {0}};
    memcpy(fp + 464, &sw, sizeof sw);
    uint32_t magic2 = FP_XSTATE_MAGIC2;
    memcpy(fp + t->xsave_size, &magic2, 4);
    f->uc.uc_flags |= UC_FP_XSTATE;
    f->uc.mcontext.fpstate = fp_addr;
  }
  f->uc.uc_flags |= UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
  f->uc.ss_sp = t->altstack_sp;
  f->uc.ss_flags = t->altstack_flags;
  f->uc.ss_size = t->altstack_size;
  f->uc.sigmask = t->sigmask;
  struct sigcontext_abi *c = &f->uc.mcontext;
  c->r8 = g->r8;
  c->r9 = g->r9;
  c->r10 = g->r10;
  c->r11 = g->r11;
  c->r12 = g->r12;
  c->r13 = g->r13;
  c->r14 = g->r14;
  c->r15 = g->r15;
  c->rdi = g->rdi;
  c->rsi = g->rsi;
  c->rbp = g->rbp;
  c->rbx = g->rbx;
  c->rdx = g->rdx;
  c->rax = g->rax;
  c->rcx = g->rcx;
  c->rsp = g->rsp;
  c->rip = g->rip;
  c->eflags = g->eflags;
  c->cs = (uint16_t)g->cs;
  c->ss = (uint16_t)g->ss;

  long r = rsys2(NR_arch_prctl, R_ARCH_SET_FS, g->fs_base);
  if (r < 0)
    fail(a, LMIG_RST_STEP_TLS, r, 0);
  r = rsys2(NR_arch_prctl, R_ARCH_SET_GS, g->gs_base);
  if (r < 0)
    fail(a, LMIG_RST_STEP_TLS, r, 1);
  uint32_t index = (uint32_t)(t - thread_at(a, 0));
  if (t->rseq_len) {
    r = rsys4(NR_rseq, t->rseq_addr, t->rseq_len, 0, t->rseq_sig);
    if (r < 0)
      fail(a, LMIG_RST_STEP_RSEQ, r, index);
  }
  if (t->robust_list) {
    r = rsys2(NR_set_robust_list, t->robust_list, t->robust_len);
    if (r < 0)
      fail(a, LMIG_RST_STEP_ROBUST, r, index);
  }
  rsys1(NR_set_tid_address, t->clear_child_tid);
  if (t->comm[0])
    rsys2(NR_prctl, R_PR_SET_NAME, t->comm);
  /* Last of what the thread sets itself: credentials, then seccomp (lmigd
   * traces every thread with seccomp suspended until it lets go). */
  if (index > 0 && a->thread_timers) /* its timers' signals need its timers */
    while (!__atomic_load_n(&a->timers_ready, __ATOMIC_ACQUIRE))
      rsys4(NR_futex, &a->timers_ready, R_FUTEX_WAIT_PRIVATE, 0, 0);
  restore_thread_pending(a, t);
  restore_thread_identity(a, t);
  if (index == 0) {
    /* the leader: wait for the others, then let go of lmigd's socket */
    for (;;) {
      uint32_t ready = __atomic_load_n(&a->threads_ready, __ATOMIC_ACQUIRE);
      if (ready + 1 >= a->nr_threads)
        break;
      rsys4(NR_futex, &a->threads_ready, R_FUTEX_WAIT_PRIVATE, ready, 0);
    }
    rsys1(NR_close, a->ctl_fd);
  } else {
    __atomic_add_fetch(&a->threads_ready, 1, __ATOMIC_RELEASE);
    rsys3(NR_futex, &a->threads_ready, R_FUTEX_WAKE_PRIVATE, 1);
  }
  restorer_sigreturn(&f->uc);
}

void restorer_thread_main(struct lmig_rst_args *a, struct lmig_rst_thread *t) {
  enter_saved_context(a, t);
}

/* The other threads, with their TIDs, sharing everything a thread shares;
 * each starts on its own stack in the region (lmigd sees each clone:
 * PTRACE_O_TRACECLONE). */
static void create_threads(struct lmig_rst_args *a) {
  for (uint32_t i = 1; i < a->nr_threads; i++) {
    struct lmig_rst_thread *t = thread_at(a, i);
    int32_t tid = t->tid;
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
    ca.stack = t->stack_top - LMIG_RST_THREAD_STACK;
    ca.stack_size = LMIG_RST_THREAD_STACK;
    ca.set_tid = (uint64_t)(uintptr_t)&tid;
    ca.set_tid_size = 1;
    long r = restorer_clone_thread(&ca, sizeof ca, a, t);
    if (r < 0)
      fail(a, LMIG_RST_STEP_THREAD, r, i);
  }
}

void restorer_main(struct lmig_rst_args *a) {
  if (a->magic != LMIG_RST_MAGIC)
    rsys1(NR_exit_group, 99);
  /* Every signal stays blocked until rt_sigreturn puts the saved mask back:
   * the re-queued ones must wait for the process's own handlers. */
  uint64_t all = ~0ull;
  long r = rsys4(NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &all, 0, 8);
  if (r < 0)
    fail(a, LMIG_RST_STEP_SIGMASK, r, 0);
  unmap_foreign(a);
  move_special(a);
  map_vmas(a);
  install_guards(a);
  int uffd = -1;
  if (a->flags & LMIG_RST_UFFD)
    uffd = attach_uffd(a);
  send_msg(a->ctl_fd, LMIG_RST_MSG_MAPPED, 0, 0, 0, uffd);
  if (uffd >= 0)
    rsys1(NR_close, uffd);
  wait_go(a);
  final_protections(a);
  lock_vmas(a);
  restore_mm(a);
  restore_signals(a);
  /* After the dispositions: a signal the process ignores would be dropped. */
  requeue_signals(a, a->shared_sigs_off, a->nr_shared_sigs, 0);
  restore_rlimits(a);
  restore_personality(a);
  create_threads(a);
  if (a->thread_timers) {
    for (uint32_t i = 1; i < a->nr_threads; i++)
      create_thread_timers(a, thread_at(a, i));
    rsys2(NR_prctl, 77 /* PR_TIMER_CREATE_RESTORE_IDS */, 0 /* _OFF */);
    __atomic_store_n(&a->timers_ready, 1, __ATOMIC_RELEASE);
    rsys3(NR_futex, &a->timers_ready, R_FUTEX_WAKE_PRIVATE, 0x7fffffff);
  }
  enter_saved_context(a, thread_at(a, 0));
}

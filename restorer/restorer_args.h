/*
 * What lmigd hands to the restorer: one flat, pointer-free block (arrays are
 * reached by offsets from the block's start) so it can be built in lmigd and
 * copied as bytes into the restorer's region. Shared by the freestanding
 * restorer (C) and the engine (C++): plain fixed-size types only.
 */
#ifndef LMIG_RESTORER_ARGS_H
#define LMIG_RESTORER_ARGS_H

#include <stdint.h>

#define LMIG_RST_MAGIC 0x31475352474d4c00ull /* "\0LMGRSG1" */
#define LMIG_RST_HEADER_MAGIC 0x4e4c42524f545352ull

/* Header at offset 0 of the blob: offsets of what lmigd needs to know. */
struct lmig_restorer_header {
  uint64_t magic;      /* LMIG_RST_HEADER_MAGIC */
  uint64_t entry;      /* offset of restorer_entry (rdi = args, rsp = stack) */
  uint64_t self_unmap; /* offset of a `syscall` instruction used to unmap the region */
  uint64_t image_end;  /* bytes the blob occupies in memory (code, data, bss) */
};

/* VMA flags */
#define LMIG_VMA_SHARED 0x1u    /* MAP_SHARED */
#define LMIG_VMA_ANON 0x2u      /* no file behind it */
#define LMIG_VMA_GROWSDOWN 0x4u /* a stack that grows down */
#define LMIG_VMA_FILL 0x8u      /* lmigd writes its content before GO: map writable until then */
#define LMIG_VMA_LAZY 0x10u     /* register with userfaultfd: lmigd installs its pages */
#define LMIG_VMA_NORESERVE 0x20u
#define LMIG_VMA_MAPFD 0x40u      /* map the inode open at map_fd (shmem) instead of a path */
#define LMIG_VMA_HUGEPAGE 0x80u   /* madvise(MADV_HUGEPAGE) right after mapping */
#define LMIG_VMA_NOHUGEPAGE 0x100u
#define LMIG_VMA_DONTFORK 0x200u
#define LMIG_VMA_WIPEONFORK 0x400u
#define LMIG_VMA_DONTDUMP 0x800u
#define LMIG_VMA_LOCKED 0x1000u   /* mlock once its pages are in (after GO) */
#define LMIG_VMA_LOCKONFAULT 0x2000u /* with LOCKED: mlock2(MLOCK_ONFAULT) */
#define LMIG_VMA_SEQREAD 0x4000u     /* madvise(MADV_SEQUENTIAL) */
#define LMIG_VMA_RANDREAD 0x8000u    /* madvise(MADV_RANDOM) */

struct lmig_rst_vma {
  uint64_t start;
  uint64_t end;
  uint64_t pgoff;      /* file offset in bytes */
  uint32_t prot;       /* final PROT_* */
  uint32_t flags;      /* LMIG_VMA_* */
  uint32_t path_off;   /* offset of a NUL-terminated path in the args block, 0 for none */
  uint32_t open_flags; /* O_RDONLY or O_RDWR for file mappings */
  int32_t map_fd;      /* MAPFD: an fd of the inode, set by the restore child; closed after mapping */
  uint32_t pad;
};

/* The kernel's special mappings, moved from where the restore child has
 * them to where the source had them. */
#define LMIG_SPECIAL_MAX 4
struct lmig_rst_special {
  uint64_t cur_start;   /* in the restore child */
  uint64_t len;
  uint64_t saved_start; /* 0: the source had none, unmap it */
  uint64_t staging;     /* a spot inside the region to move through */
};

struct lmig_rst_sigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

struct lmig_rst_range {
  uint64_t start;
  uint64_t len;
};

struct lmig_rst_rlimit {
  uint32_t resource;
  uint32_t pad;
  uint64_t cur;
  uint64_t max;
};

/* Same layout as struct user_regs_struct (x86-64). */
struct lmig_rst_regs {
  uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip,
      cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs;
};

#define LMIG_XSAVE_MAX 16384
#define LMIG_RST_THREAD_STACK 16384 /* restorer stack of each created thread */
#define LMIG_RST_MAX_THREADS 4096

/* One thread of the process; the first of the array is the leader, which
 * runs the restorer and creates the others with their TIDs (clone3). */
struct lmig_rst_thread {
  struct lmig_rst_regs regs;
  uint64_t sigmask;
  uint64_t altstack_sp;    /* sigaltstack; flags SS_DISABLE when none */
  uint64_t altstack_size;
  int32_t altstack_flags;
  uint32_t xsave_size;     /* bytes valid in xsave_off */
  uint32_t xsave_off;      /* 64-byte aligned offset of the XSAVE area (ptrace layout) */
  uint32_t frame_off;      /* 64-byte aligned scratch for the sigreturn frame */
  uint32_t frame_len;
  uint32_t rseq_len;       /* 0: no rseq registration */
  uint64_t rseq_addr;
  uint32_t rseq_sig;
  int32_t tid;             /* in the restored PID namespace */
  uint64_t clear_child_tid; /* set_tid_address */
  uint64_t robust_list;    /* set_robust_list head, 0: none */
  uint64_t robust_len;
  uint64_t stack_top;      /* the restorer stack of a created thread */
  char comm[16];           /* PR_SET_NAME */
  int32_t pdeath_signal;        /* PR_SET_PDEATHSIG (0: none) */
  uint32_t seccomp_mode;        /* 0 none, 1 strict, 2 filter */
  uint32_t nr_seccomp_filters;  /* mode 2: filters at seccomp_off, oldest first */
  uint32_t seccomp_off;
  uint32_t nr_pending;  /* this thread's own queued signals (lmig_rst_siginfo) */
  uint32_t pending_off;
  uint32_t nr_timers;   /* POSIX timers signalling this thread (lmig_rst_timer) */
  uint32_t timers_off;
};

/* A POSIX timer that signals one thread other than the main one
 * (SIGEV_THREAD_ID): made again by the leader once that thread exists, with
 * its id (PR_TIMER_CREATE_RESTORE_IDS, left on by the restore child), and
 * armed at deadline_ns (absolute on its clock; 0: disarmed) unless a queued
 * signal of it re-arms it. */
struct lmig_rst_timer {
  int32_t id;
  int32_t clockid;
  int32_t notify;
  int32_t signo;
  uint64_t sigval;
  uint64_t deadline_ns;
  uint64_t interval_ns;
  uint32_t armed_by_requeue;
  uint32_t pad;
};

/* One seccomp filter: len BPF instructions (struct sock_filter) at insns_off. */
struct lmig_rst_seccomp_filter {
  uint32_t flags; /* SECCOMP_FILTER_FLAG_* */
  uint32_t len;
  uint32_t insns_off;
  uint32_t pad;
};

/* One queued signal, re-queued by the restorer with every signal blocked.
 * timer_id >= 0: the signal of that POSIX timer, which is made to queue it
 * itself (so that it stays the timer's one signal, with its overrun):
 * armed with TIMER_ABSTIME at value_abs_ns, already past, and interval_ns. */
struct lmig_rst_siginfo {
  uint8_t info[128]; /* the kernel's siginfo */
  int32_t timer_id;
  uint32_t pad;
  uint64_t value_abs_ns;
  uint64_t interval_ns;
};

/* Credentials and capabilities: process-wide, applied by every thread (the
 * kernel keeps them per thread). */
struct lmig_rst_creds {
  uint32_t uid[4]; /* real, effective, saved, fs */
  uint32_t gid[4];
  uint32_t ngroups; /* supplementary groups: u32s at groups_off */
  uint32_t groups_off;
  uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
  uint32_t cap_last;   /* highest capability number this kernel knows */
  uint32_t securebits; /* PR_SET_SECUREBITS */
};

/* Process attributes the restorer sets once the layout is final. */
struct lmig_rst_proc {
  uint32_t personality;
  int32_t dumpable; /* PR_SET_DUMPABLE 0 or 1; -1: leave what the kernel chose */
  uint32_t thp_disable; /* PR_SET_THP_DISABLE 1: no transparent huge pages for the process */
  uint32_t membarrier;  /* MEMBARRIER_CMD_REGISTER_* bits to make again */
  int64_t loginuid;     /* written to /proc/self/loginuid; -1: leave it */
};

/* prctl(PR_SET_MM_MAP) fields */
struct lmig_rst_mm {
  uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack, arg_start,
      arg_end, env_start, env_end;
  uint32_t auxv_off;  /* offset of the auxv words */
  uint32_t auxv_size; /* bytes */
  uint32_t exe_path_off;
  uint32_t pad;
};

#define LMIG_RST_UFFD 0x1u /* create a userfaultfd for the LAZY VMAs and pass it on */

struct lmig_rst_args {
  uint64_t magic;
  uint64_t region_start; /* the restorer's own region: blob, args, stack, staging */
  uint64_t region_len;
  uint64_t task_size;    /* top of the user address space */
  int32_t ctl_fd;        /* SOCK_SEQPACKET to lmigd */
  uint32_t flags;        /* LMIG_RST_* */
  uint64_t uffd_features;
  uint32_t nr_vmas;
  uint32_t vmas_off;
  uint32_t nr_special;
  uint32_t nr_rlimits;
  struct lmig_rst_special special[LMIG_SPECIAL_MAX];
  uint64_t sigaction_valid; /* bit (sig-1): restore sigactions[sig-1] */
  struct lmig_rst_sigaction sigactions[64];
  struct lmig_rst_rlimit rlimits[16];
  struct lmig_rst_mm mm;
  struct lmig_rst_creds creds;
  struct lmig_rst_proc proc;
  uint32_t nr_threads;
  uint32_t threads_off;   /* struct lmig_rst_thread[nr_threads], the leader first */
  uint32_t threads_ready; /* futex: created threads that reached their last stop */
  uint32_t total_len;
  uint32_t nr_shared_sigs; /* the process-wide signal queue (lmig_rst_siginfo) */
  uint32_t shared_sigs_off;
  uint32_t mlockall_flags; /* MCL_FUTURE | MCL_ONFAULT, set after the layout is built */
  uint32_t thread_timers;  /* timers signalling other threads: made by the leader once they exist */
  uint32_t nr_guards;      /* MADV_GUARD_INSTALL ranges (struct lmig_rst_range), after mapping */
  uint32_t guards_off;
  uint32_t timers_ready;   /* futex: they are made (PR_TIMER_CREATE_RESTORE_IDS is off again) */
};

/* Messages on the control socket (SOCK_SEQPACKET, one struct per message). */
enum lmig_rst_msg_type {
  LMIG_RST_MSG_BEGIN = 1,  /* lmigd -> restore child: you are traced, go on */
  LMIG_RST_MSG_MAPPED = 2, /* restorer -> lmigd: layout built (uffd attached in post-copy) */
  LMIG_RST_MSG_GO = 3,     /* lmigd -> restorer: memory is in, finish and run */
  LMIG_RST_MSG_ERROR = 4   /* restore child or restorer -> lmigd: step failed */
};

/* Steps, named in errors */
enum lmig_rst_step {
  LMIG_RST_STEP_FDS = 1,
  LMIG_RST_STEP_CWD = 2,
  LMIG_RST_STEP_REGION = 3,
  LMIG_RST_STEP_UNMAP = 4,
  LMIG_RST_STEP_SPECIAL = 5,
  LMIG_RST_STEP_OPEN_VMA = 6,
  LMIG_RST_STEP_MAP_VMA = 7,
  LMIG_RST_STEP_UFFD = 8,
  LMIG_RST_STEP_CTL = 9,
  LMIG_RST_STEP_PROTECT = 10,
  LMIG_RST_STEP_MM = 11,
  LMIG_RST_STEP_SIGACTION = 12,
  LMIG_RST_STEP_RLIMIT = 13,
  LMIG_RST_STEP_TLS = 14,
  LMIG_RST_STEP_EXE = 15,
  LMIG_RST_STEP_RSEQ = 16,
  LMIG_RST_STEP_THREAD = 17, /* create a thread (arg: its index) */
  LMIG_RST_STEP_ROBUST = 18, /* set_robust_list (arg: the thread's index) */
  LMIG_RST_STEP_CREDS = 20,       /* arg: which call (LMIG_RST_CREDS_*) */
  LMIG_RST_STEP_CAPS = 21,        /* arg: which call, or the capability dropped */
  LMIG_RST_STEP_PERSONALITY = 22,
  LMIG_RST_STEP_DUMPABLE = 23,
  LMIG_RST_STEP_PDEATHSIG = 24,
  LMIG_RST_STEP_SECCOMP = 25,     /* arg: filter index, or ~0 for strict mode */
  LMIG_RST_STEP_SESSION = 26,
  LMIG_RST_STEP_PRCTL = 27,       /* arg: the PR_SET_* option */
  LMIG_RST_STEP_SIGQUEUE = 30,     /* re-queueing a pending signal (arg: its index) */
  LMIG_RST_STEP_TIMER_SIGNAL = 31, /* a POSIX timer re-queueing its signal (arg: timer id) */
  LMIG_RST_STEP_ITIMER = 32,       /* setitimer (arg: which) */
  LMIG_RST_STEP_POSIX_TIMER = 33,  /* re-making a POSIX timer (arg: its id) */
  LMIG_RST_STEP_SIGMASK = 34,      /* blocking every signal for the restore */
  LMIG_RST_STEP_MADVISE = 40, /* remake a VMA's madvise state */
  LMIG_RST_STEP_MLOCK = 41,   /* lock a VMA that was locked */
  LMIG_RST_STEP_SHMEM = 42,   /* make shared anonymous memory (restore child) */
  LMIG_RST_STEP_THP = 43,     /* PR_SET_THP_DISABLE */
  LMIG_RST_STEP_MEMBARRIER = 44, /* a membarrier registration (arg: the command) */
  LMIG_RST_STEP_LOGINUID = 45,   /* the audit login uid (arg: the uid) */
  LMIG_RST_STEP_GUARD = 46       /* a guard region (arg: its start) */
};

/* LMIG_RST_STEP_CREDS / _CAPS detail */
enum lmig_rst_creds_call {
  LMIG_RST_CREDS_SETGROUPS = 1,
  LMIG_RST_CREDS_SETRESGID = 2,
  LMIG_RST_CREDS_SETRESUID = 3,
  LMIG_RST_CREDS_SETFSGID = 4,
  LMIG_RST_CREDS_SETFSUID = 5,
  LMIG_RST_CREDS_KEEPCAPS = 6,
  LMIG_RST_CREDS_SECUREBITS = 7,
  LMIG_RST_CREDS_CAPSET = 8,
  LMIG_RST_CREDS_AMBIENT = 9,
  LMIG_RST_CREDS_BOUNDING = 10
};

struct lmig_rst_msg {
  uint32_t type;
  uint32_t step;
  int64_t err;  /* negative errno */
  uint64_t arg; /* step detail: VMA index, fd number, ... */
};

#endif /* LMIG_RESTORER_ARGS_H */

/* Raw x86-64 system calls for the freestanding restorer: no libc, no errno;
 * every call returns the kernel's value (negative errno on failure). */
#ifndef LMIG_RESTORER_SYS_H
#define LMIG_RESTORER_SYS_H

#include <stdint.h>

static inline long rsys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#define rsys0(n) rsys6((n), 0, 0, 0, 0, 0, 0)
#define rsys1(n, a) rsys6((n), (long)(a), 0, 0, 0, 0, 0)
#define rsys2(n, a, b) rsys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define rsys3(n, a, b, c) rsys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define rsys4(n, a, b, c, d) rsys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define rsys5(n, a, b, c, d, e) rsys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* x86-64 syscall numbers used by the restorer */
#define NR_read 0
#define NR_write 1
#define NR_open 2
#define NR_close 3
#define NR_mmap 9
#define NR_mprotect 10
#define NR_munmap 11
#define NR_rt_sigaction 13
#define NR_rt_sigreturn 15
#define NR_ioctl 16
#define NR_mremap 25
#define NR_sendmsg 46
#define NR_recvfrom 45
#define NR_exit_group 231
#define NR_personality 135
#define NR_membarrier 324
#define NR_prctl 157
#define NR_arch_prctl 158
#define NR_prlimit64 302
#define NR_userfaultfd 323
#define NR_rseq 334
#define NR_futex 202
#define NR_set_tid_address 218
#define NR_set_robust_list 273
#define NR_clone3 435
#define NR_rt_sigprocmask 14
#define NR_nanosleep 35
#define NR_getpid 39
#define NR_gettid 186
#define NR_timer_create 222
#define NR_timer_settime 223
#define NR_timer_gettime 224
#define NR_rt_sigqueueinfo 129
#define NR_rt_tgsigqueueinfo 297
#define NR_madvise 28
#define NR_mlock 149
#define NR_mlock2 325
#define NR_mlockall 151

/* constants (from the kernel ABI) */
#define R_PROT_READ 0x1
#define R_PROT_WRITE 0x2
#define R_MAP_SHARED 0x01
#define R_MAP_PRIVATE 0x02
#define R_MAP_FIXED 0x10
#define R_MAP_ANONYMOUS 0x20
#define R_MAP_GROWSDOWN 0x0100
#define R_MAP_NORESERVE 0x4000
#define R_MREMAP_MAYMOVE 1
#define R_MREMAP_FIXED 2
#define R_O_WRONLY 01
#define R_O_CLOEXEC 02000000
#define R_O_NONBLOCK 04000
#define R_PR_SET_MM 35
#define R_PR_SET_THP_DISABLE 41
#define R_PR_SET_MM_MAP 14
#define R_ARCH_SET_GS 0x1001
#define R_ARCH_SET_FS 0x1002
#define R_SS_DISABLE 2
#define R_SCM_RIGHTS 1
#define R_SOL_SOCKET 1
#define R_PR_SET_NAME 15
#define R_FUTEX_WAIT_PRIVATE 128
#define R_FUTEX_WAKE_PRIVATE 129
#define R_MADV_RANDOM 1
#define R_MADV_SEQUENTIAL 2
#define R_MADV_DONTFORK 10
#define R_MADV_HUGEPAGE 14
#define R_MADV_NOHUGEPAGE 15
#define R_MADV_DONTDUMP 16
#define R_MADV_WIPEONFORK 18
#define R_MADV_GUARD_INSTALL 102
#define R_MLOCK_ONFAULT 1

#endif

/* Two stacked seccomp filters (the second with SECCOMP_FILTER_FLAG_LOG)
 * keep working: each makes one unused system call number fail with its own
 * errno, everything else is allowed. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

#include "facet.h"

#define NR_A 1000
#define NR_B 1001

static int install(int nr, int err, unsigned flags) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

FACET_SETUP(dir) {
  (void)dir;
  if (install(NR_A, 77, 0) < 0 || install(NR_B, 78, SECCOMP_FILTER_FLAG_LOG) < 0)
    return facet_fail("seccomp: %s", strerror(errno)), 1;
  return 0;
}

static int status_field(const char *key, char *out, size_t len) {
  char buf[4096];
  if (facet_read_file("/proc/self/status", buf, sizeof buf) <= 0)
    return -1;
  char *p = strstr(buf, key);
  if (!p)
    return -1;
  p += strlen(key);
  while (*p == '\t' || *p == ' ')
    p++;
  size_t i = 0;
  while (p[i] && p[i] != '\n' && i + 1 < len) {
    out[i] = p[i];
    i++;
  }
  out[i] = 0;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  errno = 0;
  long a = syscall(NR_A);
  int ea = errno;
  errno = 0;
  long b = syscall(NR_B);
  int eb = errno;
  if (a != -1 || ea != 77 || b != -1 || eb != 78)
    return facet_fail("syscall %d: %ld errno %d, syscall %d: %ld errno %d", NR_A, a, ea, NR_B, b,
                      eb);
  errno = 0;
  if (syscall(1002) != -1 || errno != ENOSYS)
    return facet_fail("an unfiltered unknown call gave errno %d", errno);
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
    return facet_fail("PR_GET_SECCOMP is not 2");
  char v[32];
  if (status_field("Seccomp_filters:", v, sizeof v) < 0)
    return facet_fail("no Seccomp_filters in /proc/self/status");
  if (strcmp(v, "2"))
    return facet_fail("Seccomp_filters: %s", v);
  return facet_pass();
}

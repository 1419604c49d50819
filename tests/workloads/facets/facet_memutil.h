/*
 * facet_memutil.h: what /proc/self/smaps says about the VMA holding an
 * address (range, permissions, path, VmFlags, AnonHugePages, Locked, Rss),
 * and catching the fault of a touch that must fault. Include after facet.h.
 */
#ifndef LMIG_FACET_MEMUTIL_H
#define LMIG_FACET_MEMUTIL_H

#include <dirent.h>
#include <setjmp.h>
#include <sys/mman.h>

#define PAGE 4096ul

struct facet_vma {
  unsigned long start, end;
  char perms[8];
  char path[512];
  char flags[512]; /* " rd wr mr ... " (padded with spaces for lookups) */
  long rss_kb, anon_huge_kb, locked_kb;
};

/* Fills v for the VMA that holds addr; 0 (with a failure reason) if none. */
static inline int facet_vma_of(const void *addr, struct facet_vma *v) {
  unsigned long a = (unsigned long)addr;
  FILE *f = fopen("/proc/self/smaps", "re");
  if (!f)
    return facet_fail("open smaps: %s", strerror(errno));
  char line[512];
  int in = 0, found = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long s, e;
    char perms[8];
    int n = 0;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &s, &e, perms, &n) == 3 && n > 0) {
      if (in) /* the next VMA: ours is complete */
        break;
      if (a >= s && a < e) {
        in = found = 1;
        memset(v, 0, sizeof *v);
        v->start = s;
        v->end = e;
        snprintf(v->perms, sizeof v->perms, "%s", perms);
        snprintf(v->path, sizeof v->path, "%s", line + n);
        v->path[strcspn(v->path, "\n")] = 0;
      }
      continue;
    }
    if (!in)
      continue;
    long kb;
    if (sscanf(line, "Rss: %ld kB", &kb) == 1)
      v->rss_kb = kb;
    else if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
      v->anon_huge_kb = kb;
    else if (sscanf(line, "Locked: %ld kB", &kb) == 1)
      v->locked_kb = kb;
    else if (!strncmp(line, "VmFlags:", 8)) {
      snprintf(v->flags, sizeof v->flags, "%s", line + 8);
      v->flags[strcspn(v->flags, "\n")] = ' ';
    }
  }
  fclose(f);
  if (!found)
    return facet_fail("no VMA holds %p", addr);
  return 1;
}

/* Whether the VMA has a VmFlags mnemonic ("lo", "hg", ...). */
static inline int facet_vma_flag(const struct facet_vma *v, const char *flag) {
  char want[8];
  snprintf(want, sizeof want, " %s ", flag);
  return strstr(v->flags, want) != NULL;
}

/* Fails if an fd of the process leads to `link` (a restore that left behind
 * an fd it used to map memory). */
static inline int facet_no_fd_to(const char *link) {
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return facet_fail("opendir /proc/self/fd: %s", strerror(errno));
  struct dirent *e;
  int found = -1;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') {
      char path[300], target[512];
      snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
      ssize_t n = readlink(path, target, sizeof target - 1);
      if (n > 0) {
        target[n] = 0;
        if (!strcmp(target, link))
          found = atoi(e->d_name);
      }
    }
  closedir(d);
  if (found >= 0)
    return facet_fail("fd %d leads to %s", found, link);
  return 1;
}

/* Whether touching (reading or writing) p faults with SIGSEGV. */
static sigjmp_buf facet_touch_jmp;
static inline void facet_touch_segv(int sig) {
  (void)sig;
  siglongjmp(facet_touch_jmp, 1);
}
static inline int facet_touch_faults(volatile char *p, int write) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = facet_touch_segv;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, &old);
  int faulted = 0;
  if (sigsetjmp(facet_touch_jmp, 1) == 0) {
    if (write)
      *p = *p;
    else
      (void)*p;
  } else {
    faulted = 1;
  }
  sigaction(SIGSEGV, &old, NULL);
  return faulted;
}

#endif

/*
 * facet_tree.h: the process-tree facets' common parts; a tree facet
 * includes it instead of facet.h.
 *
 * The facet process is the top of a tree of nodes, each a process forked
 * with tree_spawn(). A node dies with its parent (PR_SET_PDEATHSIG
 * SIGKILL), so killing the top by PID ends the whole tree. Of the fds it
 * inherits it keeps only 0-2 and its end of the SOCK_SEQPACKET socketpair
 * to its parent (plus the links to children of its own), and it idles
 * blocked in recv() on that link.
 *
 * On each check a parent sends every child what it recorded of it (pid,
 * its own pid as the child's parent, process group, session); the child
 * asks its own children the same, checks itself against the request
 * (getpid, getppid, getpgid, getsid, its parent-death signal, its memory)
 * and answers PASS or the first thing that went wrong, prefixed by the
 * path down to the process it went wrong in:
 *   "child 1 (pid 101): grandchild (pid 103): getppid() 1, expected 101"
 * A child answers its setup the same way (request 0) before its parent
 * goes on, so nothing a check relies on depends on timing.
 */
#ifndef LMIG_FACET_TREE_H
#define LMIG_FACET_TREE_H

#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "facet.h"

#define TREE_MAX_KIDS 4
#define TREE_MEM (4u << 20)       /* a node's own region */
#define TREE_INHERITED (1u << 20) /* the region all nodes share copy-on-write */
#define TREE_INHERITED_SEED 0x7eeull
#define TREE_BUDGET_MS 8000 /* for a whole check; a level down gets half */

struct tree_req {
  uint32_t seq;
  int32_t budget_ms;            /* the answer must come within this */
  int32_t pid, ppid, pgid, sid; /* what the child must see; 0: not checked */
};

struct tree_rep {
  uint32_t seq; /* 0: the answer to setup */
  int32_t pid;
  int32_t ok;
  int32_t nkids;
  int32_t kids[TREE_MAX_KIDS]; /* its children's pids */
  char why[sizeof facet_why];
};

/* A parent's end of the link to one child, and what it recorded of it. */
struct tree_link {
  const char *name;
  pid_t pid;
  int fd;
  pid_t pgid, sid;
  int nkids;
  pid_t kids[TREE_MAX_KIDS]; /* from its setup answer */
  int sent;                  /* the current request went out */
  char why[200];             /* why it did not */
};

/* This process as a node. */
struct tree_node {
  const char *name;
  pid_t pid;    /* getpid() when it started */
  int up;       /* its link to its parent; -1 in the facet process */
  uint8_t *mem; /* its own region, rewritten on every check; NULL: none */
  uint64_t seed;
  int nkids;
  struct tree_link kids[TREE_MAX_KIDS];
};

static struct tree_node tree_self = {.name = "facet process", .up = -1};
/* Filled by the facet process before its forks and never written again,
 * so that every node holds the same pages copy-on-write; NULL: none. */
static const uint8_t *tree_inherited;

static inline int64_t tree_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The facet process's part of setup: it leads its session and process
 * group (the harness starts it with setsid(); by hand it may not be). */
static inline int tree_init(void) {
  tree_self.pid = getpid();
  if (getsid(0) != getpid() && setsid() < 0)
    return facet_fail("setsid: %s", strerror(errno));
  return 1;
}

static inline int tree_own_region(uint64_t seed) {
  void *p = mmap(NULL, TREE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return facet_fail("mmap %u bytes: %s", TREE_MEM, strerror(errno));
  tree_self.mem = p;
  tree_self.seed = seed;
  facet_fill(p, TREE_MEM, seed);
  return 1;
}

static inline int tree_inherit_region(void) {
  void *p = mmap(NULL, TREE_INHERITED, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return facet_fail("mmap %u bytes: %s", TREE_INHERITED, strerror(errno));
  facet_fill(p, TREE_INHERITED, TREE_INHERITED_SEED);
  tree_inherited = p;
  return 1;
}

/* Sends this node's answer to request seq up (facet_why says why if not ok). */
static inline void tree_answer(uint32_t seq, int ok) {
  struct tree_rep a;
  memset(&a, 0, sizeof a);
  a.seq = seq;
  a.pid = getpid();
  a.ok = ok;
  a.nkids = tree_self.nkids;
  for (int i = 0; i < tree_self.nkids; i++)
    a.kids[i] = tree_self.kids[i].pid;
  if (!ok)
    snprintf(a.why, sizeof a.why, "%s", facet_why);
  while (send(tree_self.up, &a, sizeof a, MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      _exit(1); /* the parent is gone */
}

/* Receives k's answer to request seq by deadline_ms (CLOCK_MONOTONIC),
 * skipping answers to older requests (a check that timed out before):
 * 1 with *a filled, or 0 with the reason. */
static inline int tree_recv(struct tree_link *k, uint32_t seq, int64_t deadline_ms,
                            struct tree_rep *a) {
  for (;;) {
    int64_t left = deadline_ms - tree_now_ms();
    if (left <= 0)
      return facet_fail("%s (pid %d) did not answer request %u in time", k->name, k->pid, seq);
    struct pollfd p = {.fd = k->fd, .events = POLLIN};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno != EINTR)
      return facet_fail("poll the link to %s (pid %d): %s", k->name, k->pid, strerror(errno));
    if (r <= 0)
      continue;
    ssize_t n = recv(k->fd, a, sizeof *a, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n < 0)
      return facet_fail("recv from %s (pid %d): %s", k->name, k->pid, strerror(errno));
    if (n == 0)
      return facet_fail("%s (pid %d) closed its link: it is gone", k->name, k->pid);
    if (n != (ssize_t)sizeof *a)
      return facet_fail("%s (pid %d) sent %zd bytes, expected %zu", k->name, k->pid, n, sizeof *a);
    if (a->seq < seq)
      continue;
    if (a->seq != seq)
      return facet_fail("%s (pid %d) answered request %u, expected %u", k->name, k->pid, a->seq,
                        seq);
    if (a->pid != k->pid)
      return facet_fail("%s answered as pid %d, expected %d", k->name, a->pid, k->pid);
    a->why[sizeof a->why - 1] = 0;
    return 1;
  }
}

/* Forks a child node that runs body(), which sets itself up and ends in
 * tree_run(ok); waits for the answer to setup. pgid >= 0 moves the child
 * to process group pgid (0: a new one it leads), set on both sides as
 * shells do so that it holds whichever runs first. The link records the
 * child's group and session as the parent's own unless pgid says
 * otherwise; a body that changes them (as setsid() does) leaves the parent
 * to correct its record. */
static inline int tree_spawn(const char *name, pid_t pgid, void (*body)(void)) {
  if (tree_self.nkids == TREE_MAX_KIDS)
    return facet_fail("more than %d children", TREE_MAX_KIDS);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return facet_fail("socketpair: %s", strerror(errno));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return facet_fail("fork %s: %s", name, strerror(errno));
  }
  if (pid == 0) {
    /* The getppid() check closes the window in which the parent died
     * before the death signal was set. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
      _exit(1);
    if (sv[1] > 3)
      syscall(SYS_close_range, 3, sv[1] - 1, 0);
    syscall(SYS_close_range, sv[1] + 1, ~0u, 0);
    memset(&tree_self, 0, sizeof tree_self);
    tree_self.name = name;
    tree_self.pid = getpid();
    tree_self.up = sv[1];
    if (pgid >= 0 && setpgid(0, pgid) < 0) {
      facet_fail("setpgid(0, %d): %s", pgid, strerror(errno));
      tree_answer(0, 0);
      _exit(1);
    }
    body();
    _exit(0);
  }
  close(sv[1]);
  struct tree_link *k = &tree_self.kids[tree_self.nkids++];
  memset(k, 0, sizeof *k);
  k->name = name;
  k->pid = pid;
  k->fd = sv[0];
  k->pgid = pgid < 0 ? getpgid(0) : pgid == 0 ? pid : pgid;
  k->sid = getsid(0);
  if (pgid >= 0 && setpgid(pid, k->pgid) < 0)
    return facet_fail("setpgid(%d, %d): %s", pid, k->pgid, strerror(errno));
  struct tree_rep a;
  if (!tree_recv(k, 0, tree_now_ms() + TREE_BUDGET_MS, &a))
    return 0;
  if (!a.ok)
    return facet_fail("%s (pid %d) did not set up: %s", name, pid, a.why);
  k->nkids = a.nkids < 0 ? 0 : a.nkids > TREE_MAX_KIDS ? TREE_MAX_KIDS : a.nkids;
  for (int i = 0; i < k->nkids; i++)
    k->kids[i] = a.kids[i];
  return 1;
}

/* This node against what its parent recorded, and its memory. */
static inline int tree_check_self(const struct tree_req *q) {
  pid_t pid = getpid(), ppid = getppid(), pgid = getpgid(0), sid = getsid(0);
  if (q->pid && pid != q->pid)
    return facet_fail("getpid() %d, expected %d", pid, q->pid);
  if (q->ppid && ppid != q->ppid)
    return facet_fail("getppid() %d, expected %d", ppid, q->ppid);
  if (q->pgid && pgid != q->pgid)
    return facet_fail("getpgid(0) %d, expected %d", pgid, q->pgid);
  if (q->sid && sid != q->sid)
    return facet_fail("getsid(0) %d, expected %d", sid, q->sid);
  int death = -1;
  if (tree_self.up >= 0 && (prctl(PR_GET_PDEATHSIG, &death, 0, 0, 0) < 0 || death != SIGKILL))
    return facet_fail("parent-death signal %d, expected SIGKILL (%d)", death, SIGKILL);
  if (tree_inherited) {
    long at = facet_differs(tree_inherited, TREE_INHERITED, TREE_INHERITED_SEED);
    if (at >= 0)
      return facet_fail("word %ld of the inherited region differs", at);
  }
  if (tree_self.mem) {
    long at = facet_differs(tree_self.mem, TREE_MEM, tree_self.seed);
    uint64_t was = tree_self.seed++;
    facet_fill(tree_self.mem, TREE_MEM, tree_self.seed);
    if (at >= 0)
      return facet_fail("word %ld of its own region differs (seed %llu)", at,
                        (unsigned long long)was);
  }
  return 1;
}

/* One check of this node and everything under it: the requests go out
 * first so that the children work while this node checks itself; every
 * answer is collected (keeping each link in step) and the first failure
 * is the result. */
static inline int tree_check(const struct tree_req *q) {
  int64_t deadline = tree_now_ms() + q->budget_ms / 2;
  for (int i = 0; i < tree_self.nkids; i++) {
    struct tree_link *k = &tree_self.kids[i];
    struct tree_req c = {.seq = q->seq,
                         .budget_ms = q->budget_ms / 2,
                         .pid = k->pid,
                         .ppid = tree_self.pid,
                         .pgid = k->pgid,
                         .sid = k->sid};
    ssize_t n;
    while ((n = send(k->fd, &c, sizeof c, MSG_NOSIGNAL)) < 0 && errno == EINTR)
      ;
    k->sent = n == (ssize_t)sizeof c;
    if (!k->sent && n < 0 && errno == EPIPE)
      snprintf(k->why, sizeof k->why, "%s (pid %d) closed its link: it is gone", k->name, k->pid);
    else if (!k->sent)
      snprintf(k->why, sizeof k->why, "send to %s (pid %d): %s", k->name, k->pid,
               n < 0 ? strerror(errno) : "short");
  }
  char first[2 * sizeof facet_why] = ""; /* the failure and the path to it */
  if (!tree_check_self(q))
    snprintf(first, sizeof first, "%s", facet_why);
  for (int i = 0; i < tree_self.nkids; i++) {
    struct tree_link *k = &tree_self.kids[i];
    struct tree_rep a;
    if (!k->sent) {
      if (!first[0])
        snprintf(first, sizeof first, "%s", k->why);
    } else if (!tree_recv(k, q->seq, deadline, &a)) {
      if (!first[0])
        snprintf(first, sizeof first, "%s", facet_why);
    } else if (!a.ok && !first[0]) {
      snprintf(first, sizeof first, "%s (pid %d): %s", k->name, k->pid, a.why);
    }
  }
  if (first[0])
    return facet_fail("%s", first);
  return 1;
}

/* A node's life after setup: blocked in recv() until a request comes,
 * then a check and its answer; gone when its parent is. */
static inline void tree_serve(void) {
  for (;;) {
    struct tree_req q;
    memset(&q, 0, sizeof q);
    ssize_t n = recv(tree_self.up, &q, sizeof q, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      _exit(0);
    int ok = n == (ssize_t)sizeof q
                 ? tree_check(&q)
                 : facet_fail("a request of %zd bytes, expected %zu", n, sizeof q);
    tree_answer(q.seq, ok);
  }
}

/* The end of a body: answers setup (ok or facet_why), then serves. */
static inline void tree_run(int ok) {
  tree_answer(0, ok);
  if (!ok)
    _exit(1);
  tree_serve();
}

/* The facet process's check of the whole tree: itself (the leader of its
 * session and group), every node under it, and from outside: each child
 * alive and not exited (a zombie passes kill(pid, 0)), in the group and
 * session recorded, and each grandchild alive and not its child. */
static inline int tree_check_top(unsigned seq) {
  struct tree_req q = {.seq = seq,
                       .budget_ms = TREE_BUDGET_MS,
                       .pid = facet_orig_pid,
                       .pgid = facet_orig_pid,
                       .sid = facet_orig_pid};
  if (!tree_check(&q))
    return 0;
  for (int i = 0; i < tree_self.nkids; i++) {
    struct tree_link *k = &tree_self.kids[i];
    if (kill(k->pid, 0) < 0)
      return facet_fail("kill(%s %d, 0): %s", k->name, k->pid, strerror(errno));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)k->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
      return facet_fail("waitid(%s %d): %s", k->name, k->pid, strerror(errno));
    if (si.si_pid != 0)
      return facet_fail("%s %d has ended: code %d status %d", k->name, k->pid, si.si_code,
                        si.si_status);
    pid_t pg = getpgid(k->pid), s = getsid(k->pid);
    if (pg != k->pgid || s != k->sid)
      return facet_fail("%s %d: getpgid %d getsid %d, expected %d and %d", k->name, k->pid, pg, s,
                        k->pgid, k->sid);
    for (int j = 0; j < k->nkids; j++) {
      pid_t g = k->kids[j];
      if (kill(g, 0) < 0)
        return facet_fail("kill(grandchild %d under %s, 0): %s", g, k->name, strerror(errno));
      if (waitid(P_PID, (id_t)g, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
        return facet_fail("grandchild %d under %s is a child of the facet process", g, k->name);
      if (errno != ECHILD)
        return facet_fail("waitid(grandchild %d under %s): %s", g, k->name, strerror(errno));
    }
  }
  return 1;
}

#endif

/* Process groups and sessions move with the tree, laid out as a shell
 * lays out jobs:
 *
 *   facet process   leads session T and group T
 *   ├─ A            leads group A in session T
 *   ├─ B            in group A (forked after A), session T
 *   └─ C            called setsid(): leads session C and group C
 *      └─ D         in group C, session C
 *
 * Each check: every process checks its own pid, parent, group and session
 * against what its parent recorded (facet_tree.h); the facet process also
 * asks the kernel about each of A-D with getpgid()/getsid(), and that
 * groups A and C exist. */
#include "facet_tree.h"

static void member(void) { tree_run(1); }

static void session_leader(void) {
  if (setsid() < 0)
    tree_run(facet_fail("setsid: %s", strerror(errno)));
  tree_run(tree_spawn("D", -1, member));
}

static pid_t pid_of(int kid) { return tree_self.kids[kid].pid; }

/* The kernel's view of pid against the group and session it must have. */
static int in_place(const char *name, pid_t pid, pid_t pgid, pid_t sid) {
  pid_t pg = getpgid(pid), s = getsid(pid);
  if (pg < 0 || s < 0)
    return facet_fail("getpgid/getsid(%s %d): %s", name, pid, strerror(errno));
  if (pg != pgid || s != sid)
    return facet_fail("%s %d: group %d session %d, expected %d and %d", name, pid, pg, s, pgid,
                      sid);
  return 1;
}

FACET_SETUP(dir) {
  (void)dir;
  if (!tree_init() || !tree_spawn("A", 0, member) || !tree_spawn("B", pid_of(0), member) ||
      !tree_spawn("C", -1, session_leader))
    return 1;
  struct tree_link *c = &tree_self.kids[2];
  c->pgid = c->sid = c->pid; /* its setsid() is done: it answered setup */
  if (c->nkids != 1)
    return facet_fail("C reports %d children, expected 1", c->nkids), 1;
  return 0;
}

FACET_CHECK(seq) {
  pid_t t = facet_orig_pid, a = pid_of(0), b = pid_of(1), c = pid_of(2);
  pid_t d = tree_self.kids[2].kids[0];
  if (!tree_check_top(seq) || !in_place("facet process", t, t, t) || !in_place("A", a, a, t) ||
      !in_place("B", b, a, t) || !in_place("C", c, c, c) || !in_place("D", d, c, c))
    return 0;
  if (kill(-a, 0) < 0)
    return facet_fail("kill(-%d, 0) (group A): %s", a, strerror(errno));
  if (kill(-c, 0) < 0)
    return facet_fail("kill(-%d, 0) (group C): %s", c, strerror(errno));
  return facet_pass();
}

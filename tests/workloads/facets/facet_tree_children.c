/* A process tree moves as one: the facet process (leader of its session)
 * has two live children, and child 1 has a child of its own:
 *
 *   facet process ─┬─ child 1 ── grandchild
 *                  └─ child 2
 *
 * Every process keeps 4 MiB of its own memory (rewritten with a new
 * pattern on every check) and 1 MiB the facet process filled before
 * forking, which all four still share copy-on-write. Each check asks every
 * process, down the tree, to verify its pid, its parent, its process group
 * and session, and that memory (facet_tree.h); the facet process also sees
 * each child alive and unexited and the grandchild alive and not its own. */
#include "facet_tree.h"

static void grandchild(void) { tree_run(tree_own_region(3)); }

static void child1(void) {
  tree_run(tree_own_region(1) && tree_spawn("grandchild", -1, grandchild));
}

static void child2(void) { tree_run(tree_own_region(2)); }

FACET_SETUP(dir) {
  (void)dir;
  if (!tree_init() || !tree_inherit_region() || !tree_own_region(0) ||
      !tree_spawn("child 1", -1, child1) || !tree_spawn("child 2", -1, child2))
    return 1;
  if (tree_self.kids[0].nkids != 1)
    return facet_fail("child 1 reports %d children, expected 1", tree_self.kids[0].nkids), 1;
  return 0;
}

FACET_CHECK(seq) { return tree_check_top(seq) ? facet_pass() : 0; }

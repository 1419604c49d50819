// Plans the restore of a whole process tree on the target, before anything
// is spawned: one RestorePlan per live member, and the root's plan for the
// files and memory they share, which wait in handoff slots (fd numbers
// above every member's own) until each member has taken its own.
#pragma once

#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"
#include "engine/restore/restore_plan.hpp"

namespace lmig {

struct TreePlan {
  std::vector<RestorePlan> members; // one per image, in tree order
  RestorePlan shared;               // the tree's files, made by the root
  bool has_shared = false;
};

// tree_files: the tree's shared files (fd numbers are slots); renumbered
// to their handoff fds here, and pointed into by the plan, so it must
// outlive it.
Result<TreePlan> plan_tree(const std::vector<ProcessImage> &images, ProcessImage &tree_files,
                           bool postcopy);

} // namespace lmig

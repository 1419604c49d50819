#include "engine/restore/tree_plan.hpp"

#include <algorithm>
#include <cstdlib>

#include "engine/lazy/uffd.hpp"
#include "engine/restore/fd_plan.hpp"

namespace lmig {

Result<TreePlan> plan_tree(const std::vector<ProcessImage> &images, ProcessImage &tree_files,
                           bool postcopy) {
  TreePlan t;
  auto features = uffd::kernel_features();
  for (const auto &im : images) {
    LMIG_ASSIGN_OR_RETURN(RestorePlan plan,
                          plan_restore(im, postcopy, features.ok(),
                                       features.ok() ? uffd::postcopy_features(*features) : 0));
    // Test-only: the restore of this PID fails after its children are made.
    if (const char *v = std::getenv("LMIG_TEST_FAIL_RESTORE_OF"); v && std::atoi(v) == im.pid)
      plan.test_fail_spawn = true;
    t.members.push_back(std::move(plan));
  }
  int base = 3, slots = 0;
  for (const auto &p : t.members)
    base = std::max(base, p.ctl_fd + 1);
  for (const auto &fd : tree_files.fds)
    slots = std::max(slots, fd.fd + 1);
  auto lacking = [&](const ProcessImage &im, int32_t slot) {
    return make_error(LMIG_ERR_IMAGE, "image of PID " + std::to_string(im.pid) +
                                          " names shared slot " + std::to_string(slot) +
                                          ", which the tree's files lack");
  };
  for (const auto &im : images) {
    for (const auto &f : im.files)
      if (f.shared_slot >= slots)
        return lacking(im, f.shared_slot);
    for (const auto &c : im.contents)
      if (c.shared_slot >= slots)
        return lacking(im, c.shared_slot);
  }
  for (auto &p : t.members) {
    p.handoff_base = base;
    p.handoff_end = base + slots;
  }
  if (slots > 0) {
    for (auto &fd : tree_files.fds)
      fd.fd += base;
    if (auto st = plan_fds(tree_files, t.shared); !st.ok())
      return std::move(st).error().context("the files the tree shares");
    t.shared.handoff_base = base;
    t.shared.handoff_end = base + slots;
    t.has_shared = true;
  }
  return t;
}

} // namespace lmig

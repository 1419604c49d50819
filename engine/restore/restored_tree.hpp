// The target's handle on a whole migrated tree being restored: it spawns
// the restore tree (every live member and zombie forked by its own parent,
// with its PID), follows each live member's restore, and lets them run
// together, children first and the root last. Until the root runs,
// dropping the handle kills every member and the namespace.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/image/image.hpp"
#include "engine/image/process_tree.hpp"
#include "engine/restore/lifeline.hpp"
#include "engine/restore/restore_plan.hpp"
#include "engine/restore/restored_process.hpp"

namespace lmig {

class RestoredTree {
public:
  // images and plans: one per live member, in tree order; shared: the
  // open files the members share (made by the root), or null. Returns once
  // every member's layout is mapped.
  static Result<std::unique_ptr<RestoredTree>> start(const ProcessTree &tree,
                                                     const std::vector<ProcessImage> &images,
                                                     std::vector<RestorePlan> plans,
                                                     RestorePlan *shared, int timeout_ms);
  ~RestoredTree();

  // The live members, in tree order; [0] is the root.
  std::vector<RestoredProcess> &members() { return members_; }
  RestoredProcess &root() { return members_.front(); }

  // Lets every member enter its saved context (see RestoredProcess::run).
  Status run(int timeout_ms, const std::function<std::optional<Error>()> &abandon = {});
  // Kills every member not yet running, children first, then the namespace.
  void abort();
  // Ties the namespace's life to ours until every page is in; the init
  // holds every member's userfaultfd already.
  Lifeline &lifeline() { return lifeline_; }

private:
  RestoredTree() = default;
  std::vector<RestoredProcess> members_;
  Lifeline lifeline_;
};

} // namespace lmig

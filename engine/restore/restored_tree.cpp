#include "engine/restore/restored_tree.hpp"

#include <cstring>

#include "engine/restore/spawn.hpp"

namespace lmig {

Result<std::unique_ptr<RestoredTree>> RestoredTree::start(const ProcessTree &tree,
                                                          const std::vector<ProcessImage> &images,
                                                          std::vector<RestorePlan> plans,
                                                          RestorePlan *shared, int timeout_ms) {
  if (images.size() != tree.live() || plans.size() != images.size())
    return make_error(LMIG_ERR_PROTOCOL,
                      "the process tree has " + std::to_string(tree.live()) +
                          " live processes but " + std::to_string(images.size()) +
                          " images came");
  // Plans move into the handles only after the spawn: the restore
  // children read them from the spawn's copy of our memory.
  std::vector<SpawnMember> spawn(tree.members.size());
  std::vector<int> image_of(tree.members.size(), -1);
  for (size_t i = 0, k = 0; i < tree.members.size(); i++) {
    const TreeMember &m = tree.members[i];
    SpawnMember &s = spawn[i];
    s.pid = m.pid;
    s.pgid = m.pgid;
    s.sid = m.sid;
    s.parent = m.ppid == 0 ? -1 : tree.index_of(m.ppid);
    s.exit_signal = m.exit_signal;
    s.zombie = m.zombie;
    s.wait_status = m.wait_status;
    std::strncpy(s.comm, m.comm.c_str(), sizeof s.comm - 1);
    if (m.zombie)
      continue;
    if (images[k].pid != m.pid)
      return make_error(LMIG_ERR_PROTOCOL, "image " + std::to_string(k) + " is of PID " +
                                               std::to_string(images[k].pid) + ", the tree says " +
                                               std::to_string(m.pid));
    image_of[i] = static_cast<int>(k);
    s.plan = &plans[k];
    k++;
  }
  spawn[0].shared = shared;
  LMIG_ASSIGN_OR_RETURN(RestoreTree spawned, spawn_restore_tree(spawn));
  std::unique_ptr<RestoredTree> t(new RestoredTree);
  t->lifeline_ = Lifeline(std::move(spawned.lifeline));
  t->members_.reserve(images.size());
  for (size_t i = 0; i < tree.members.size(); i++) {
    if (image_of[i] < 0)
      continue;
    const size_t k = static_cast<size_t>(image_of[i]);
    pid_t spawner = spawned.init_pid;
    if (i > 0) // the parent's handle came before (parents precede children)
      spawner = t->members_[static_cast<size_t>(image_of[static_cast<size_t>(spawn[i].parent)])]
                    .pid();
    t->members_.emplace_back(images[k], std::move(plans[k]), std::move(spawned.ctl[i]), spawner,
                             i == 0 ? std::move(spawned.init_pidfd) : UniqueFd{});
    // Each member waits for BEGIN from us, so they are followed one by one.
    LMIG_TRY(t->members_.back().wait_mapped(timeout_ms));
    if (t->members_.back().uffd() >= 0)
      LMIG_TRY(t->lifeline_.hand_over(t->members_.back().uffd()));
  }
  return t;
}

RestoredTree::~RestoredTree() { abort(); }

void RestoredTree::abort() {
  // Children first: the namespace's init waits for every task in it, and
  // the ones we trace are ours to reap.
  for (auto it = members_.rbegin(); it != members_.rend(); ++it)
    it->abort();
}

Status RestoredTree::run(int timeout_ms, const std::function<std::optional<Error>()> &abandon) {
  for (auto it = members_.rbegin(); it != members_.rend(); ++it)
    LMIG_TRY(it->run(timeout_ms, abandon));
  return {};
}

} // namespace lmig

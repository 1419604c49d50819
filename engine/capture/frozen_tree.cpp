#include "engine/capture/frozen_tree.hpp"

namespace lmig {

Result<FrozenTree> FrozenTree::freeze(const ScannedTree &scanned) {
  FrozenTree t;
  const auto &members = scanned.tree.members;
  for (size_t i = 0; i < members.size(); i++) {
    if (members[i].zombie) {
      t.process_of_.push_back(-1);
      continue;
    }
    // Dropping t on failure lets the ones already frozen go.
    LMIG_ASSIGN_OR_RETURN(FrozenProcess fp, FrozenProcess::freeze(scanned.host_pids[i]));
    t.process_of_.push_back(static_cast<int>(t.frozen_.size()));
    t.frozen_.push_back(std::move(fp));
  }
  if (members.size() == 1)
    return t;
  LMIG_ASSIGN_OR_RETURN(auto again, scan_tree(scanned.host_pids[0]));
  if (!same_tree(again.tree, scanned.tree) || again.host_pids != scanned.host_pids)
    return make_error(LMIG_ERR_NOT_MIGRATABLE,
                      "the processes under PID " + std::to_string(scanned.host_pids[0]) +
                          " changed while they were being frozen (a child started or ended); "
                          "they were left running: try again");
  return t;
}

namespace {

// Does `step` to every process in [begin, end), going on past failures;
// the first failure is the result.
template <typename It, typename Step> Status each(It begin, It end, Step step) {
  Status first;
  for (It it = begin; it != end; ++it)
    if (auto st = step(*it); !st.ok() && first.ok())
      first = std::move(st);
  return first;
}

} // namespace

Status FrozenTree::resume() {
  return each(frozen_.begin(), frozen_.end(), [](FrozenProcess &p) { return p.resume(); });
}

Status FrozenTree::arm_stop() {
  return each(frozen_.begin(), frozen_.end(), [](FrozenProcess &p) { return p.arm_stop(); });
}

Status FrozenTree::kill() {
  return each(frozen_.rbegin(), frozen_.rend(), [](FrozenProcess &p) { return p.kill(); });
}

Status FrozenTree::park_stopped() {
  return each(frozen_.begin(), frozen_.end(), [](FrozenProcess &p) { return p.park_stopped(); });
}

} // namespace lmig

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

Status FrozenTree::resume() {
  Status first;
  for (auto &p : frozen_)
    if (auto st = p.resume(); !st.ok() && first.ok())
      first = std::move(st);
  return first;
}

Status FrozenTree::kill() {
  Status first;
  for (auto it = frozen_.rbegin(); it != frozen_.rend(); ++it)
    if (auto st = it->kill(); !st.ok() && first.ok())
      first = std::move(st);
  return first;
}

Status FrozenTree::park_stopped() {
  Status first;
  for (auto &p : frozen_)
    if (auto st = p.park_stopped(); !st.ok() && first.ok())
      first = std::move(st);
  return first;
}

} // namespace lmig

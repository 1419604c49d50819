// Freezes every live process of a scanned tree, parents first (a frozen
// parent forks no more children), and checks the tree did not change on
// the way. Letting go resumes them all; after the switchover they are
// killed together, children first.
#pragma once

#include <vector>

#include "engine/base/error.hpp"
#include "engine/capture/freezer.hpp"
#include "engine/capture/tree_scan.hpp"

namespace lmig {

class FrozenTree {
public:
  static Result<FrozenTree> freeze(const ScannedTree &scanned);

  // The frozen processes, in tree order (zombies have none).
  std::vector<FrozenProcess> &processes() { return frozen_; }
  // For each tree member, its index in processes(), or -1 for a zombie.
  const std::vector<int> &process_of() const { return process_of_; }

  Status resume();
  Status arm_stop(); // see FrozenProcess::arm_stop
  Status kill();
  Status park_stopped();

private:
  std::vector<FrozenProcess> frozen_;
  std::vector<int> process_of_;
};

} // namespace lmig

// The tie between lmigd and the init of a restored tree's PID namespace,
// both of its ends. While the memory of a post-copy migration is still
// coming, the init holds a copy of every userfaultfd of the tree; if lmigd
// dies (or gives the restore up) its end closes, and the init kills every
// process of the namespace before it lets those copies go. So a restored
// process never outlives its pager, and never reads a zero page where the
// source had data (a released userfaultfd would let its faults through).
// Once every page is in, lmigd disarms it and the init is a plain reaper.
#pragma once

#include <sys/types.h>

#include "engine/base/error.hpp"
#include "engine/base/unique_fd.hpp"

namespace lmig {

// lmigd's end.
class Lifeline {
public:
  Lifeline() = default;
  explicit Lifeline(UniqueFd fd) : fd_(std::move(fd)) {}

  // The init keeps a copy of this userfaultfd until disarm().
  Status hand_over(int uffd);
  // Every page is in: the init drops its copies, and lmigd's end may close
  // without taking the namespace down. Waits for the init to say so.
  Status disarm(int timeout_ms);
  // Gives the restore up: the init kills the namespace.
  void cut() { fd_.reset(); }
  bool armed() const { return fd_.valid(); }

private:
  UniqueFd fd_;
};

// A socket pair for a lifeline: [0] lmigd's end, [1] the init's.
Result<std::pair<UniqueFd, UniqueFd>> make_lifeline();

// The init's end, run by the namespace init once it has forked the root
// (`root`, our child): reaps every process of the namespace, holds the
// userfaultfds lmigd hands over, kills the namespace if lmigd's end closes
// while armed, and exits with the root's status when the root ends (exit
// code, or 128 + the signal). Runs after clone in a multi-threaded
// program: system calls only, no allocation.
[[noreturn]] void init_reap(pid_t root, int lifeline);

} // namespace lmig

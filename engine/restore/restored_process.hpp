// The target's handle on one process being restored. It spawns the restore
// tree, traces the restore child (so a crash anywhere in the restore is
// seen, and lmigd dying takes the half-built process with it), waits for the
// restorer to build the layout, lets lmigd write the pages, and finally
// follows the restorer through rt_sigreturn into the saved context, unmaps
// the restorer's region and lets the process run. Until then, dropping the
// handle kills the whole restore tree.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/base/process_memory.hpp"
#include "engine/base/unique_fd.hpp"
#include "engine/image/image.hpp"
#include "engine/restore/restore_plan.hpp"

namespace lmig {

class RestoredProcess {
public:
  // A member of a spawned restore tree: ctl is our end of its control
  // socket, spawner the process that forks it (the namespace's init for the
  // root, else its parent; our PID). The root's handle owns the namespace:
  // dropping it takes the whole tree down.
  RestoredProcess(const ProcessImage &image, RestorePlan plan, UniqueFd ctl, pid_t spawner,
                  UniqueFd init_pidfd = {});
  // Returns once the saved layout is mapped (and, in post-copy, the
  // userfaultfd has arrived).
  Status wait_mapped(int timeout_ms);
  RestoredProcess(RestoredProcess &&o) noexcept;
  RestoredProcess &operator=(RestoredProcess &&) = delete;
  ~RestoredProcess();

  pid_t pid() const { return pid_; }  // in lmigd's PID namespace
  pid_t vpid() const { return plan_.vpid; }
  pid_t init_pid() const { return init_pid_; }
  UniqueFd take_uffd() { return std::move(uffd_); }
  int uffd() const { return uffd_.get(); }
  // Closing our userfaultfd unregisters its ranges (nothing else holds it).
  void release_uffd() { uffd_.reset(); }
  UniqueFd take_init_pidfd() { return std::move(init_pidfd_); }
  const RestorePlan &plan() const { return plan_; }

  Status write_pages(uint64_t addr, const void *data, size_t len) {
    return writer_.write(addr, data, len);
  }
  // Lets the restorer finish and enters the saved context; on success the
  // process runs on its own and this handle no longer owns it. `abandon`,
  // asked while waiting, ends the wait with its error (the pager failed:
  // the restorer may be blocked on a page that will never come).
  Status run(int timeout_ms, const std::function<std::optional<Error>()> &abandon = {});
  // Kills the restore tree now (also done by the destructor).
  void abort();

private:
  Status wait_event(int timeout_ms, uint32_t want_type, bool want_trap,
                    const std::function<std::optional<Error>()> &abandon = {});
  Error restorer_error(uint32_t step, int64_t err, uint64_t arg) const;
  Status enter_saved_context();
  Status apply_from_outside();
  Status place_in_cgroup();
  // One state change of a created thread while the restorer finishes.
  Status follow_thread(size_t i, int status);

  const ProcessImage *image_;
  RestorePlan plan_;
  pid_t init_pid_ = -1;  // set for the root only: it owns the namespace
  pid_t spawner_ = -1;
  UniqueFd init_pidfd_;
  UniqueFd ctl_;
  pid_t pid_ = -1;
  bool traced_ = false;
  // The threads the restorer created (lmigd's TIDs), traced since their
  // clone, and whether each stands at the restorer's int3.
  std::vector<pid_t> threads_;
  std::vector<bool> thread_trapped_;
  bool running_ = false;
  UniqueFd uffd_;
  PageWriter writer_{-1};
};

} // namespace lmig

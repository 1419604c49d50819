#include "engine/capture/shared_tables.hpp"

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/capture/proc_status.hpp"

namespace lmig {
namespace {

struct Shared {
  int type;
  const char *what;
};
constexpr Shared kShared[] = {
    {KCMP_VM, "one address space (CLONE_VM, e.g. a vfork child that has not exec'd yet)"},
    {KCMP_FILES, "one fd table (CLONE_FILES)"},
    {KCMP_FS, "one working directory and umask (CLONE_FS)"},
    {KCMP_SIGHAND, "one table of signal handlers (CLONE_SIGHAND)"},
};
// (Not KCMP_SYSVSEM: two processes without an undo list compare equal.)

Status compare(pid_t a, pid_t b, bool b_moves) {
  for (const auto &s : kShared)
    if (::syscall(SYS_kcmp, a, b, s.type, 0, 0) == 0)
      return make_error(LMIG_ERR_UNSUPPORTED,
                        "PID " + std::to_string(a) + " and PID " + std::to_string(b) +
                            (b_moves ? "" : " (which stays behind)") + " share " + s.what +
                            "; that is not supported yet");
  return {};
}

} // namespace

Status refuse_shared_tables(const ScannedTree &t) {
  std::vector<pid_t> live;
  for (size_t i = 0; i < t.host_pids.size(); i++)
    if (!t.tree.members[i].zombie)
      live.push_back(t.host_pids[i]);
  if (live.empty())
    return {};
  if (auto st = read_stat(live.front()); st.ok() && st->ppid > 0)
    LMIG_TRY(compare(live.front(), st->ppid, false));
  for (size_t i = 0; i < live.size(); i++)
    for (size_t j = i + 1; j < live.size(); j++)
      LMIG_TRY(compare(live[i], live[j], true));
  return {};
}

} // namespace lmig

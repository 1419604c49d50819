#include "engine/capture/precheck.hpp"

#include <unistd.h>

#include "engine/capture/capture.hpp"
#include "engine/capture/fd_capture.hpp"
#include "engine/capture/freezer.hpp"
#include "engine/capture/proc_attrs.hpp"
#include "engine/capture/proc_maps.hpp"
#include "engine/capture/timers.hpp"
#include "engine/capture/tree_scan.hpp"
#include "engine/capture/tree_sharing.hpp"
#include "engine/capture/shared_tables.hpp"
#include "engine/capture/shmem_capture.hpp"
#include "engine/capture/terminals.hpp"
#include "engine/capture/vma_capture.hpp"
#include "restorer/restorer_args.h"

namespace lmig {
namespace {

Error refuse(pid_t pid, const std::string &why) {
  return make_error(LMIG_ERR_NOT_MIGRATABLE, "PID " + std::to_string(pid) + " " + why);
}

bool link_deleted(const std::string &path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 10 && std::string(buf, static_cast<size_t>(n)).ends_with(" (deleted)");
}

} // namespace

Result<ProcStatus> check_identity(pid_t pid, bool frozen_by_us) {
  if (pid <= 0)
    return make_error(LMIG_ERR_INVALID_ARGUMENT, "PID " + std::to_string(pid) + " is not valid");
  auto st = read_status(pid);
  if (!st.ok()) {
    if (st.error().sys_errno == ENOENT)
      return make_error(LMIG_ERR_NO_SUCH_PROCESS, "no process with PID " + std::to_string(pid),
                        ESRCH);
    return std::move(st).error();
  }
  if (st->tgid != pid)
    return refuse(pid, "is a thread of process " + std::to_string(st->tgid) +
                           "; migrate the process instead");
  if (pid == ::getpid())
    return refuse(pid, "is lmig itself");
  if (pid == 1)
    return refuse(pid, "is init");
  auto stat = read_stat(pid);
  if (!stat.ok())
    return std::move(stat).error();
  if (st->kthread || (stat->flags & kPfKthread))
    return refuse(pid, "is a kernel thread (" + st->name + ")");
  LMIG_TRY(refuse_controlling_terminal(pid, stat->tty_nr));
  if (st->state == 'Z' || st->state == 'X')
    return refuse(pid, "is a zombie (" + st->name + ")");
  if (!frozen_by_us && (st->state == 'T' || st->state == 't'))
    return refuse(pid, "is stopped (" + st->name + "); continue it first");
  if (st->tracer_pid != 0 && !(frozen_by_us && st->tracer_pid == ::getpid()))
    return refuse(pid, "is already traced by PID " + std::to_string(st->tracer_pid));
  if (st->nspid.size() > 1 && st->nspid.back() == 1)
    return refuse(pid, "is the init of its PID namespace");
  const std::string proc = "/proc/" + std::to_string(pid);
  if (st->threads > LMIG_RST_MAX_THREADS)
    return make_error(LMIG_ERR_UNSUPPORTED, "PID " + std::to_string(pid) + " (" + st->name +
                                                ") has " + std::to_string(st->threads) +
                                                " threads; more than " +
                                                std::to_string(LMIG_RST_MAX_THREADS) +
                                                " is not supported yet");
  if (link_deleted(proc + "/exe"))
    return make_error(LMIG_ERR_UNSUPPORTED,
                      "PID " + std::to_string(pid) + ": its executable was deleted; that is not "
                                                     "supported yet");
  return st;
}

Result<std::vector<MapsEntry>> precheck_one(pid_t pid, const std::map<int, int32_t> *shared_slots,
                                            const SharedInodes *shared_contents) {
  LMIG_ASSIGN_OR_RETURN(auto status, check_identity(pid));
  LMIG_TRY(precheck_proc_attrs(pid, status));
  LMIG_ASSIGN_OR_RETURN(auto maps, read_smaps(pid));
  LMIG_ASSIGN_OR_RETURN(auto vmas, capture_vmas(maps));
  LMIG_ASSIGN_OR_RETURN(auto fds, capture_fds(pid, false, shared_slots));
  LMIG_TRY(capture_shmem(pid, maps, vmas, fds, false, shared_contents));
  LMIG_TRY(precheck_timers(pid));
  return maps;
}

Result<TreePrecheck> precheck(pid_t pid) {
  LMIG_TRY(check_identity(pid));
  TreePrecheck out;
  LMIG_ASSIGN_OR_RETURN(out.scan, scan_tree(pid));
  LMIG_TRY(check_session_moves_whole(out.scan));
  LMIG_TRY(refuse_shared_tables(out.scan));
  LMIG_ASSIGN_OR_RETURN(auto sharing, find_tree_sharing(out.scan));
  for (size_t i = 0; i < out.scan.host_pids.size(); i++) {
    if (out.scan.tree.members[i].zombie) {
      out.smaps.emplace_back();
      continue;
    }
    auto maps = precheck_one(out.scan.host_pids[i], &sharing.slot_of[i], &sharing.contents_slot);
    if (!maps.ok() && i > 0)
      return std::move(maps).error().context("PID " + std::to_string(pid) + " has child PID " +
                                             std::to_string(out.scan.host_pids[i]));
    if (!maps.ok())
      return std::move(maps).error();
    out.smaps.push_back(std::move(maps).value());
  }
  return out;
}

} // namespace lmig

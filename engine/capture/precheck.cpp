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

std::vector<Error> list_blockers(pid_t pid) {
  std::vector<Error> out;
  if (auto st = check_identity(pid); !st.ok()) {
    out.push_back(std::move(st).error());
    return out;
  }
  auto scan = scan_tree(pid);
  if (!scan.ok()) {
    out.push_back(std::move(scan).error());
    return out;
  }
  if (auto st = check_session_moves_whole(*scan); !st.ok())
    out.push_back(std::move(st).error());
  if (auto st = refuse_shared_tables(*scan); !st.ok())
    out.push_back(std::move(st).error());
  auto sharing = find_tree_sharing(*scan);
  if (!sharing.ok())
    out.push_back(std::move(sharing).error());
  for (size_t i = 0; i < scan->host_pids.size(); i++) {
    if (scan->tree.members[i].zombie)
      continue;
    const pid_t member = scan->host_pids[i];
    auto add = [&](Error e) {
      if (i > 0)
        e.context("PID " + std::to_string(pid) + " has child PID " + std::to_string(member));
      out.push_back(std::move(e));
    };
    auto status = check_identity(member);
    if (!status.ok()) {
      add(std::move(status).error());
      continue;
    }
    if (auto st = precheck_proc_attrs(member, *status); !st.ok())
      add(std::move(st).error());
    const auto *slots = sharing.ok() ? &sharing->slot_of[i] : nullptr;
    std::vector<Error> fd_blockers;
    check_fds(member, slots, fd_blockers);
    for (auto &e : fd_blockers)
      add(std::move(e));
    auto maps = read_smaps(member);
    if (!maps.ok()) {
      add(std::move(maps).error());
      continue;
    }
    auto vmas = capture_vmas(*maps);
    if (!vmas.ok()) {
      add(std::move(vmas).error());
    } else if (fd_blockers.empty()) {
      // Shared memory is judged with the fds that hold it.
      auto fds = capture_fds(member, false, slots);
      if (fds.ok()) {
        auto shm = capture_shmem(member, *maps, *vmas, *fds, false,
                                 sharing.ok() ? &sharing->contents_slot : nullptr);
        if (!shm.ok())
          add(std::move(shm).error());
      }
    }
    if (auto st = precheck_timers(member); !st.ok())
      add(std::move(st).error());
  }
  return out;
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

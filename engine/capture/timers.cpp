#include "engine/base/clock.hpp"
#include "engine/capture/timers.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "engine/capture/proc_maps.hpp"
#include "engine/image/timer_validation.hpp"
#include "engine/ptrace/remote_syscall.hpp"

namespace lmig {
namespace {

constexpr uint64_t kNs = 1000000000ull;


uint64_t ts_ns(int64_t sec, int64_t nsec) {
  return sec < 0 || nsec < 0 ? 0 : static_cast<uint64_t>(sec) * kNs + static_cast<uint64_t>(nsec);
}

Error refuse(pid_t pid, const std::string &why) {
  return make_error(LMIG_ERR_UNSUPPORTED,
                    "PID " + std::to_string(pid) + ": " + why + "; that is not supported yet");
}

Result<std::vector<ProcTimer>> read_timers(pid_t pid) {
  LMIG_ASSIGN_OR_RETURN(std::string text,
                        read_proc_file("/proc/" + std::to_string(pid) + "/timers"));
  return parse_proc_timers(text);
}

Status remote_ok(Result<int64_t> r, const std::string &what) {
  if (!r.ok())
    return std::move(r).error();
  if (*r < 0)
    return make_error(LMIG_ERR_SYSTEM, "remote " + what + ": " + std::strerror(static_cast<int>(-*r)),
                      static_cast<int>(-*r));
  return {};
}

Status read_remote(pid_t pid, uint64_t addr, void *buf, size_t len) {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void *>(addr), len};
  if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(len))
    return sys_error("read timer settings from the scratch page");
  return {};
}

} // namespace

Result<std::vector<ProcTimer>> parse_proc_timers(const std::string &text) {
  std::vector<ProcTimer> out;
  std::istringstream in(text);
  std::string line;
  auto bad = [&](const std::string &why) {
    return make_error(LMIG_ERR_SYSTEM, "/proc/PID/timers: " + why + " in \"" + line + "\"");
  };
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    if (line.rfind("ID: ", 0) == 0) {
      ProcTimer t;
      char *end = nullptr;
      long id = std::strtol(line.c_str() + 4, &end, 10);
      if (end == line.c_str() + 4 || *end || id < 0 || id > INT32_MAX)
        return bad("bad id");
      t.id = static_cast<int32_t>(id);
      out.push_back(t);
      continue;
    }
    if (out.empty())
      return bad("entry before any ID");
    ProcTimer &t = out.back();
    if (line.rfind("signal: ", 0) == 0) {
      int sig = 0;
      unsigned long long val = 0;
      if (std::sscanf(line.c_str() + 8, "%d/%llx", &sig, &val) != 2)
        return bad("bad signal");
      t.signo = sig;
      t.sigval = val;
    } else if (line.rfind("notify: ", 0) == 0) {
      std::string rest = line.substr(8);
      size_t slash = rest.find('/'), dot = rest.find('.');
      if (slash == std::string::npos || dot == std::string::npos || dot < slash)
        return bad("bad notify");
      t.notify = rest.substr(0, slash);
      std::string kind = rest.substr(slash + 1, dot - slash - 1);
      if (kind != "pid" && kind != "tid")
        return bad("bad notify target");
      t.to_thread = kind == "tid";
      char *end = nullptr;
      long target = std::strtol(rest.c_str() + dot + 1, &end, 10);
      if (*end || target < 0 || target > INT32_MAX)
        return bad("bad notify target");
      t.target = static_cast<int32_t>(target);
    } else if (line.rfind("ClockID: ", 0) == 0) {
      char *end = nullptr;
      long c = std::strtol(line.c_str() + 9, &end, 10);
      // CPU-time clocks are negative (they encode a pid or tid).
      if (end == line.c_str() + 9 || *end || c < INT32_MIN || c > INT32_MAX)
        return bad("bad clock");
      t.clockid = static_cast<int32_t>(c);
      t.has_clock = true;
    }
  }
  for (const auto &t : out)
    if (!t.has_clock || t.notify.empty())
      return make_error(LMIG_ERR_SYSTEM,
                        "/proc/PID/timers: timer " + std::to_string(t.id) + " is incomplete");
  return out;
}

Status precheck_timers(pid_t pid) {
  LMIG_ASSIGN_OR_RETURN(auto timers, read_timers(pid));
  for (const auto &t : timers) {
    std::string what = "POSIX timer " + std::to_string(t.id);
    if (!posix_timer_clock_supported(t.clockid))
      return refuse(pid, what + " is on clock " + std::to_string(t.clockid) +
                             " (CPU-time and alarm clocks)");
    if (t.notify != "signal" && t.notify != "none")
      return refuse(pid, what + " notifies by " + t.notify);
  }
  return {};
}

Status capture_timers(RemoteSyscaller &rs, uint64_t scratch, pid_t pid,
                      const std::map<pid_t, pid_t> &inner_tid,
                      TimersImage &out) {
  LMIG_TRY(precheck_timers(pid)); // the process may have made one since the precheck
  LMIG_ASSIGN_OR_RETURN(auto timers, read_timers(pid));
  std::sort(timers.begin(), timers.end(),
            [](const ProcTimer &a, const ProcTimer &b) { return a.id < b.id; });
  out.captured_ns = now_ns(CLOCK_REALTIME);
  for (int which = 0; which < 3; which++) {
    LMIG_TRY(remote_ok(rs.call(SYS_getitimer, {static_cast<uint64_t>(which), scratch}),
                       "getitimer"));
    itimerval v{};
    LMIG_TRY(read_remote(pid, scratch, &v, sizeof v));
    out.itimers[static_cast<size_t>(which)] = {
        ts_ns(v.it_value.tv_sec, v.it_value.tv_usec * 1000),
        ts_ns(v.it_interval.tv_sec, v.it_interval.tv_usec * 1000)};
  }
  for (const auto &t : timers) {
    PosixTimerImage p;
    p.id = t.id;
    p.clockid = t.clockid;
    p.notify = t.notify == "none" ? SIGEV_NONE : SIGEV_SIGNAL;
    if (t.to_thread) {
      p.notify |= SIGEV_THREAD_ID;
      auto it = inner_tid.find(t.target);
      if (it == inner_tid.end())
        return make_error(LMIG_ERR_NOT_MIGRATABLE,
                          "POSIX timer " + std::to_string(t.id) + " signals thread " +
                              std::to_string(t.target) + ", which is not one of PID " +
                              std::to_string(pid) + "'s threads");
      p.tid = it->second;
    }
    p.signo = p.notify == SIGEV_NONE ? 0 : t.signo;
    p.sigval = t.sigval;
    LMIG_TRY(remote_ok(rs.call(SYS_timer_gettime, {static_cast<uint64_t>(t.id), scratch}),
                       "timer_gettime(" + std::to_string(t.id) + ")"));
    itimerspec v{};
    LMIG_TRY(read_remote(pid, scratch, &v, sizeof v));
    p.value_ns = ts_ns(v.it_value.tv_sec, v.it_value.tv_nsec);
    p.interval_ns = ts_ns(v.it_interval.tv_sec, v.it_interval.tv_nsec);
    auto ov = rs.call(SYS_timer_getoverrun, {static_cast<uint64_t>(t.id)});
    LMIG_TRY(remote_ok(ov, "timer_getoverrun(" + std::to_string(t.id) + ")"));
    p.overrun_last = static_cast<int32_t>(*ov);
    out.posix.push_back(p);
  }
  return {};
}

void mark_pending_timer_signals(ProcessImage &im) {
  auto mark = [&](const std::vector<SiginfoImage> &q) {
    for (const auto &s : q) {
      if (s.code() != kSiTimer)
        continue;
      int32_t id;
      std::memcpy(&id, s.raw.data() + 16, sizeof id); // si_timerid
      for (auto &p : im.timers.posix)
        if (p.id == id && p.notify != SIGEV_NONE && p.signo == s.signo())
          p.signal_pending = true;
    }
  };
  mark(im.shared_pending);
  for (const auto &t : im.threads)
    mark(t.pending);
}

} // namespace lmig

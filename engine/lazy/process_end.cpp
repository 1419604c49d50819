#include "engine/lazy/process_end.hpp"

#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

namespace lmig {
namespace {

// The first fields of the kernel's struct pidfd_info (Linux 6.15); Debian
// 12's headers predate it.
struct PidfdInfo {
  uint64_t mask, cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr uint64_t kPidfdInfoExit = 1u << 3;
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);

bool from_pidfd(int pidfd, int &wait_status) {
  PidfdInfo info{};
  info.mask = kPidfdInfoExit;
  if (::ioctl(pidfd, kPidfdGetInfo, &info) < 0 || !(info.mask & kPidfdInfoExit))
    return false;
  wait_status = info.exit_code;
  return true;
}

// Field 52 of /proc/PID/stat, the exit status in waitpid form, is there
// while the process is a zombie.
bool from_proc(pid_t pid, int &wait_status) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line))
    return false;
  const auto close = line.rfind(')');
  if (close == std::string::npos)
    return false;
  std::istringstream fields(line.substr(close + 2));
  std::string f;
  // Fields from 3 (state) on; 52 is the 50th of them.
  for (int i = 3; i <= 52; i++)
    if (!(fields >> f))
      return false;
  if (line[close + 2] != 'Z' && line[close + 2] != 'X')
    return false; // not ended yet (or a recycled PID)
  wait_status = std::stoi(f);
  return true;
}

} // namespace

uint64_t oom_kills() {
  std::ifstream in("/proc/vmstat");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value)
    if (key == "oom_kill")
      return value;
  return 0;
}

ProcessEnd read_process_end(pid_t pid, int pidfd, uint64_t oom_kills_before) {
  int status = 0;
  // Reaped already, or a zombie; it may be reaped between the two reads.
  if (!from_pidfd(pidfd, status) && !from_proc(pid, status) && !from_pidfd(pidfd, status))
    return {};
  ProcessEnd e;
  if (WIFEXITED(status)) {
    e.kind = ProcessEnd::exited;
    e.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    e.kind = ProcessEnd::killed;
    e.code = WTERMSIG(status);
    e.oom = e.code == SIGKILL && oom_kills() > oom_kills_before;
  }
  return e;
}

std::string ProcessEnd::describe() const {
  switch (kind) {
  case exited: return "exited with status " + std::to_string(code);
  case killed: {
    const char *abbrev = ::sigabbrev_np(code);
    std::string s = "was killed by signal " + std::to_string(code) + " (SIG" +
                    (abbrev ? abbrev : "?") + (oom ? ", by the kernel's OOM killer" : "") + ")";
    return s;
  }
  case unknown: break;
  }
  return "ended, and how could not be read";
}

} // namespace lmig

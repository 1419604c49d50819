// Parsers for /proc/PID/status, /proc/PID/stat and /proc/PID/fdinfo/N: the
// identity, credentials, signal masks and mm fields of a process.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/error.hpp"

namespace lmig {

struct ProcStatus {
  std::string name;
  char state = '?';
  pid_t tgid = 0, pid = 0, ppid = 0, tracer_pid = 0;
  std::array<uint32_t, 4> uid{}, gid{};
  std::vector<uint32_t> groups;
  std::vector<pid_t> nspid; // outermost first
  uint32_t umask = 0;
  int threads = 0;
  uint64_t sig_blk = 0, sig_ign = 0, sig_cgt = 0;
  bool kthread = false; // "Kthread: 1" (newer kernels)
  uint64_t cap_inh = 0, cap_prm = 0, cap_eff = 0, cap_bnd = 0, cap_amb = 0;
  bool no_new_privs = false;
  uint32_t seccomp = 0; // 0 disabled, 1 strict, 2 filter
  uint64_t rss_anon_kb = 0, rss_shmem_kb = 0; // resident memory a restore must allocate
};

struct ProcStat {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  uint64_t flags = 0;
  pid_t ppid = 0, pgrp = 0, session = 0; // in the reader's PID namespace
  int tty_nr = 0;        // the controlling terminal's device (0: none)
  int exit_signal = 0;   // sent to the parent when it ends
  int exit_code = 0;     // a zombie's wait status (0 while it lives)
  uint64_t start_code = 0, end_code = 0, start_stack = 0, start_data = 0, end_data = 0,
           start_brk = 0, arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
};

struct FdInfo {
  uint64_t pos = 0;
  uint32_t flags = 0; // octal in the file
  uint64_t ino = 0;
};

Result<ProcStatus> parse_status(std::string_view text);
Result<ProcStat> parse_stat(std::string_view text);
Result<FdInfo> parse_fdinfo(std::string_view text);

Result<ProcStatus> read_status(pid_t pid);
Result<ProcStat> read_stat(pid_t pid);
Result<FdInfo> read_fdinfo(pid_t pid, int fd);

inline constexpr uint64_t kPfKthread = 0x00200000;

} // namespace lmig

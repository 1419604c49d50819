#include "engine/capture/proc_status.hpp"

#include <charconv>
#include <sstream>

#include "engine/capture/proc_maps.hpp"

namespace lmig {
namespace {

template <typename T> bool num(std::string_view s, T &out, int base = 10) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  if (s.empty())
    return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

template <typename T> std::vector<T> nums(std::string_view s) {
  std::vector<T> out;
  std::istringstream in{std::string(s)};
  long long v;
  while (in >> v)
    out.push_back(static_cast<T>(v));
  return out;
}

Error malformed(const char *file, std::string_view key) {
  return make_error(LMIG_ERR_SYSTEM, std::string(file) + ": malformed field " + std::string(key));
}

} // namespace

Result<ProcStatus> parse_status(std::string_view text) {
  ProcStatus st;
  bool have_pid = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    std::string_view key = line.substr(0, colon), val = line.substr(colon + 1);
    while (!val.empty() && (val.front() == '\t' || val.front() == ' '))
      val.remove_prefix(1);
    bool ok = true;
    if (key == "Name") {
      st.name = std::string(val);
    } else if (key == "State") {
      ok = !val.empty();
      if (ok)
        st.state = val[0];
    } else if (key == "Umask") {
      ok = num(val, st.umask, 8);
    } else if (key == "Tgid") {
      ok = num(val, st.tgid);
    } else if (key == "Pid") {
      ok = num(val, st.pid);
      have_pid = ok;
    } else if (key == "PPid") {
      ok = num(val, st.ppid);
    } else if (key == "TracerPid") {
      ok = num(val, st.tracer_pid);
    } else if (key == "Uid" || key == "Gid") {
      auto v = nums<uint32_t>(val);
      ok = v.size() == 4;
      if (ok)
        for (int i = 0; i < 4; i++)
          (key == "Uid" ? st.uid : st.gid)[i] = v[i];
    } else if (key == "Groups") {
      st.groups = nums<uint32_t>(val);
    } else if (key == "NSpid") {
      st.nspid = nums<pid_t>(val);
    } else if (key == "Threads") {
      ok = num(val, st.threads);
    } else if (key == "SigBlk") {
      ok = num(val, st.sig_blk, 16);
    } else if (key == "SigIgn") {
      ok = num(val, st.sig_ign, 16);
    } else if (key == "SigCgt") {
      ok = num(val, st.sig_cgt, 16);
    } else if (key == "CapInh") {
      ok = num(val, st.cap_inh, 16);
    } else if (key == "CapPrm") {
      ok = num(val, st.cap_prm, 16);
    } else if (key == "CapEff") {
      ok = num(val, st.cap_eff, 16);
    } else if (key == "CapBnd") {
      ok = num(val, st.cap_bnd, 16);
    } else if (key == "CapAmb") {
      ok = num(val, st.cap_amb, 16);
    } else if (key == "NoNewPrivs") {
      int k = 0;
      ok = num(val, k);
      st.no_new_privs = k != 0;
    } else if (key == "Seccomp") {
      ok = num(val, st.seccomp);
    } else if (key == "RssAnon" || key == "RssShmem") {
      ok = num(val.substr(0, val.find(' ')), key == "RssAnon" ? st.rss_anon_kb : st.rss_shmem_kb);
    } else if (key == "Kthread") {
      int k = 0;
      ok = num(val, k);
      st.kthread = k != 0;
    }
    if (!ok)
      return malformed("status", key);
  }
  if (!have_pid)
    return make_error(LMIG_ERR_SYSTEM, "status: no Pid field");
  return st;
}

Result<ProcStat> parse_stat(std::string_view text) {
  ProcStat st;
  size_t open = text.find('(');
  size_t close = text.rfind(')'); // comm may itself contain parentheses
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return make_error(LMIG_ERR_SYSTEM, "stat: no (comm)");
  if (!num(text.substr(0, open), st.pid))
    return malformed("stat", "pid");
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  std::vector<std::string_view> f; // f[0] is field 3 (state)
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty()) {
    size_t b = rest.find_first_not_of(" \n");
    if (b == std::string_view::npos)
      break;
    rest.remove_prefix(b);
    size_t e = rest.find_first_of(" \n");
    f.push_back(rest.substr(0, e));
    rest.remove_prefix(e == std::string_view::npos ? rest.size() : e);
  }
  auto at = [&](int field_no) -> std::string_view {
    size_t i = static_cast<size_t>(field_no - 3);
    return i < f.size() ? f[i] : std::string_view{};
  };
  if (f.size() < 49)
    return make_error(LMIG_ERR_SYSTEM, "stat: only " + std::to_string(f.size() + 2) + " fields");
  st.state = at(3).empty() ? '?' : at(3)[0];
  struct {
    int no;
    uint64_t *out;
    const char *name;
  } wanted[] = {{9, &st.flags, "flags"},          {26, &st.start_code, "startcode"},
                {27, &st.end_code, "endcode"},    {28, &st.start_stack, "startstack"},
                {45, &st.start_data, "start_data"}, {46, &st.end_data, "end_data"},
                {47, &st.start_brk, "start_brk"}, {48, &st.arg_start, "arg_start"},
                {49, &st.arg_end, "arg_end"},     {50, &st.env_start, "env_start"},
                {51, &st.env_end, "env_end"}};
  for (auto &w : wanted)
    if (!num(at(w.no), *w.out))
      return malformed("stat", w.name);
  if (!num(at(4), st.ppid))
    return malformed("stat", "ppid");
  if (!num(at(5), st.pgrp))
    return malformed("stat", "pgrp");
  if (!num(at(38), st.exit_signal))
    return malformed("stat", "exit_signal");
  if (!at(52).empty() && !num(at(52), st.exit_code))
    return malformed("stat", "exit_code");
  if (!num(at(6), st.session))
    return malformed("stat", "session");
  if (!num(at(7), st.tty_nr))
    return malformed("stat", "tty_nr");
  return st;
}

Result<FdInfo> parse_fdinfo(std::string_view text) {
  FdInfo fi;
  bool have_pos = false, have_flags = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    std::string_view key = line.substr(0, colon), val = line.substr(colon + 1);
    if (key == "pos") {
      if (!num(val, fi.pos))
        return malformed("fdinfo", key);
      have_pos = true;
    } else if (key == "flags") {
      if (!num(val, fi.flags, 8))
        return malformed("fdinfo", key);
      have_flags = true;
    } else if (key == "ino") {
      if (!num(val, fi.ino))
        return malformed("fdinfo", key);
    }
  }
  if (!have_pos || !have_flags)
    return make_error(LMIG_ERR_SYSTEM, "fdinfo: pos or flags missing");
  return fi;
}

Result<ProcStatus> read_status(pid_t pid) {
  LMIG_ASSIGN_OR_RETURN(std::string t, read_proc_file("/proc/" + std::to_string(pid) + "/status"));
  return parse_status(t);
}

Result<ProcStat> read_stat(pid_t pid) {
  LMIG_ASSIGN_OR_RETURN(std::string t, read_proc_file("/proc/" + std::to_string(pid) + "/stat"));
  return parse_stat(t);
}

Result<FdInfo> read_fdinfo(pid_t pid, int fd) {
  LMIG_ASSIGN_OR_RETURN(std::string t, read_proc_file("/proc/" + std::to_string(pid) + "/fdinfo/" +
                                                      std::to_string(fd)));
  return parse_fdinfo(t);
}

} // namespace lmig

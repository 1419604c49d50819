#include "engine/capture/proc_maps.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "engine/base/unique_fd.hpp"

namespace lmig {

bool MapsEntry::shmem() const {
  return shared && (path == "/dev/zero" || path.starts_with("/memfd:"));
}

bool MapsEntry::has_flag(std::string_view f) const {
  for (const auto &v : vm_flags)
    if (v == f)
      return true;
  return false;
}

uint32_t MapsEntry::prot() const {
  return (read ? PROT_READ : 0) | (write ? PROT_WRITE : 0) | (exec ? PROT_EXEC : 0);
}

namespace {

bool parse_hex(std::string_view s, uint64_t &out) {
  if (s.empty())
    return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_dec(std::string_view s, uint64_t &out) {
  if (s.empty())
    return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Next space-separated field; advances s.
std::string_view field(std::string_view &s) {
  size_t b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) {
    s = {};
    return {};
  }
  s.remove_prefix(b);
  size_t e = s.find(' ');
  std::string_view f = s.substr(0, e);
  s.remove_prefix(e == std::string_view::npos ? s.size() : e);
  return f;
}

// "start-end perms offset major:minor inode [path]"; false if not a maps line.
bool parse_maps_line(std::string_view line, MapsEntry &e) {
  std::string_view rest = line;
  std::string_view range = field(rest), perms = field(rest), off = field(rest), dev = field(rest),
                   ino = field(rest);
  size_t dash = range.find('-');
  if (dash == std::string_view::npos || perms.size() != 4)
    return false;
  if (!parse_hex(range.substr(0, dash), e.start) || !parse_hex(range.substr(dash + 1), e.end))
    return false;
  e.read = perms[0] == 'r';
  e.write = perms[1] == 'w';
  e.exec = perms[2] == 'x';
  e.shared = perms[3] == 's';
  if (!parse_hex(off, e.pgoff))
    return false;
  size_t colon = dev.find(':');
  uint64_t maj = 0, min = 0;
  if (colon == std::string_view::npos || !parse_hex(dev.substr(0, colon), maj) ||
      !parse_hex(dev.substr(colon + 1), min))
    return false;
  e.dev_major = static_cast<uint32_t>(maj);
  e.dev_minor = static_cast<uint32_t>(min);
  if (!parse_dec(ino, e.inode))
    return false;
  size_t b = rest.find_first_not_of(' ');
  std::string_view path = b == std::string_view::npos ? std::string_view{} : rest.substr(b);
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() && path.ends_with(kDeleted)) {
    e.deleted = true;
    path.remove_suffix(kDeleted.size());
  }
  e.path = std::string(path);
  return true;
}

} // namespace

Result<std::vector<MapsEntry>> parse_maps(std::string_view text) {
  std::vector<MapsEntry> out;
  size_t lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    lineno++;
    if (line.empty())
      continue;
    // smaps key lines look like "Key:   value"; VmFlags is the one we keep.
    // smaps key lines are "Key:   value" with a word for a key
    size_t colon = line.find(':');
    bool key_line = colon != std::string_view::npos && colon > 0;
    for (size_t k = 0; key_line && k < colon; k++)
      key_line = std::isalpha(static_cast<unsigned char>(line[k])) || line[k] == '_';
    if (key_line) {
      if (line.starts_with("VmFlags:") && !out.empty()) {
        std::string_view rest = line.substr(8);
        for (auto f = field(rest); !f.empty(); f = field(rest))
          out.back().vm_flags.emplace_back(f);
      }
      continue;
    }
    MapsEntry e;
    if (!parse_maps_line(line, e))
      return make_error(LMIG_ERR_SYSTEM,
                        "maps line " + std::to_string(lineno) + " is malformed: " + std::string(line));
    if (e.start >= e.end || (!out.empty() && e.start < out.back().end))
      return make_error(LMIG_ERR_SYSTEM, "maps line " + std::to_string(lineno) +
                                             " is out of order or empty: " + std::string(line));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::string> read_link(const std::string &path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0)
    return sys_error("readlink " + path);
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::vector<int>> list_fds(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid) + "/fd";
  DIR *d = ::opendir(base.c_str());
  if (!d)
    return sys_error("open " + base);
  std::vector<int> numbers;
  while (dirent *e = ::readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
      numbers.push_back(std::atoi(e->d_name));
  ::closedir(d);
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

Result<std::string> read_proc_file(const std::string &path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return sys_error("open " + path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return sys_error("read " + path);
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::vector<MapsEntry>> read_smaps(pid_t pid) {
  LMIG_ASSIGN_OR_RETURN(std::string text, read_proc_file("/proc/" + std::to_string(pid) + "/smaps"));
  return parse_maps(text);
}

Result<std::vector<MapsEntry>> read_maps(pid_t pid) {
  LMIG_ASSIGN_OR_RETURN(std::string text, read_proc_file("/proc/" + std::to_string(pid) + "/maps"));
  return parse_maps(text);
}

} // namespace lmig

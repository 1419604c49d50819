#include "engine/capture/fdinfo.hpp"

#include <charconv>
#include <optional>
#include <string>
#include <utility>

namespace lmig {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

template <typename T> bool num(std::string_view s, T &out, int base = 10) {
  s = trim(s);
  if (s.empty())
    return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

Error malformed(const char *what, std::string_view key) {
  return make_error(LMIG_ERR_SYSTEM,
                    std::string(what) + " fdinfo: malformed field " + std::string(key));
}
Error missing(const char *what, const char *key) {
  return make_error(LMIG_ERR_SYSTEM, std::string(what) + " fdinfo: no " + key + " field");
}

// Calls f(key, value) for each "key: value" line (key up to the first colon).
template <typename F> void each_line(std::string_view text, F &&f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos)
      f(line.substr(0, colon), line.substr(colon + 1));
  }
}

// The key:value pairs of one line where pairs are separated by blanks and
// a value may follow its key after blanks ("tfd:        3 events: 19").
class Pairs {
public:
  explicit Pairs(std::string_view line) {
    std::vector<std::string_view> tok;
    while (!line.empty()) {
      size_t b = line.find_first_not_of(" \t");
      if (b == std::string_view::npos)
        break;
      line.remove_prefix(b);
      size_t e = line.find_first_of(" \t");
      tok.push_back(line.substr(0, e));
      line.remove_prefix(e == std::string_view::npos ? line.size() : e);
    }
    for (size_t i = 0; i < tok.size(); i++) {
      size_t colon = tok[i].find(':');
      if (colon == std::string_view::npos)
        continue;
      std::string_view key = tok[i].substr(0, colon), val = tok[i].substr(colon + 1);
      if (val.empty() && i + 1 < tok.size() && tok[i + 1].find(':') == std::string_view::npos)
        val = tok[++i];
      pairs_.emplace_back(key, val);
    }
  }
  std::optional<std::string_view> get(std::string_view key) const {
    for (const auto &[k, v] : pairs_)
      if (k == key)
        return v;
    return std::nullopt;
  }

private:
  std::vector<std::pair<std::string_view, std::string_view>> pairs_;
};

// "(sec, nsec)" as nanoseconds.
bool timespec_ns(std::string_view s, uint64_t &ns) {
  s = trim(s);
  if (s.size() < 2 || s.front() != '(' || s.back() != ')')
    return false;
  s = s.substr(1, s.size() - 2);
  size_t comma = s.find(',');
  if (comma == std::string_view::npos)
    return false;
  uint64_t sec = 0, nsec = 0;
  if (!num(s.substr(0, comma), sec) || !num(s.substr(comma + 1), nsec) || nsec >= 1000000000 ||
      sec > (1ull << 62) / 1000000000)
    return false;
  ns = sec * 1000000000 + nsec;
  return true;
}

} // namespace

uint64_t kernel_dev_to_dev(uint32_t kdev) {
  uint64_t major = kdev >> 20, minor = kdev & 0xfffff;
  // glibc's makedev, spelled out to keep this header-free.
  return ((major & 0xfffff000ull) << 32) | ((major & 0xfffull) << 8) |
         ((minor & 0xffffff00ull) << 12) | (minor & 0xffull);
}

Result<EventfdInfo> parse_eventfd_fdinfo(std::string_view text) {
  EventfdInfo e;
  bool have_count = false;
  std::optional<Error> err;
  each_line(text, [&](std::string_view key, std::string_view val) {
    if (err)
      return;
    if (key == "eventfd-count") {
      if (!num(val, e.count, 16))
        err = malformed("eventfd", key);
      have_count = true;
    } else if (key == "eventfd-semaphore") {
      int v = 0;
      if (!num(val, v) || v < 0 || v > 1)
        err = malformed("eventfd", key);
      e.semaphore = v == 1;
    }
  });
  if (err)
    return *err;
  if (!have_count)
    return missing("eventfd", "eventfd-count");
  return e;
}

Result<uint64_t> parse_signalfd_fdinfo(std::string_view text) {
  std::optional<uint64_t> mask;
  bool bad = false;
  each_line(text, [&](std::string_view key, std::string_view val) {
    if (key == "sigmask") {
      uint64_t m = 0;
      bad = bad || !num(val, m, 16);
      mask = m;
    }
  });
  if (bad)
    return malformed("signalfd", "sigmask");
  if (!mask)
    return missing("signalfd", "sigmask");
  return *mask;
}

Result<TimerfdInfo> parse_timerfd_fdinfo(std::string_view text) {
  TimerfdInfo t;
  unsigned seen = 0;
  std::optional<Error> err;
  each_line(text, [&](std::string_view key, std::string_view val) {
    if (err)
      return;
    bool ok = true;
    if (key == "clockid") {
      ok = num(val, t.clockid);
      seen |= 1;
    } else if (key == "ticks") {
      ok = num(val, t.ticks);
      seen |= 2;
    } else if (key == "settime flags") {
      ok = num(val, t.settime_flags, 8);
      seen |= 4;
    } else if (key == "it_value") {
      ok = timespec_ns(val, t.value_ns);
      seen |= 8;
    } else if (key == "it_interval") {
      ok = timespec_ns(val, t.interval_ns);
      seen |= 16;
    }
    if (!ok)
      err = malformed("timerfd", key);
  });
  if (err)
    return *err;
  if (seen != 31)
    return make_error(LMIG_ERR_SYSTEM, "timerfd fdinfo: clockid, ticks, settime flags, it_value "
                                       "or it_interval missing");
  return t;
}

Result<std::vector<EpollTargetInfo>> parse_epoll_fdinfo(std::string_view text) {
  std::vector<EpollTargetInfo> out;
  std::optional<Error> err;
  // Each "tfd:" line holds several pairs: read it whole.
  while (!text.empty() && !err) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!trim(line).starts_with("tfd:"))
      continue;
    Pairs p(line);
    EpollTargetInfo t;
    auto tfd = p.get("tfd"), events = p.get("events"), data = p.get("data"), ino = p.get("ino"),
         sdev = p.get("sdev");
    if (!tfd || !num(*tfd, t.tfd) || t.tfd < 0)
      err = malformed("epoll", "tfd");
    else if (!events || !num(*events, t.events, 16))
      err = malformed("epoll", "events");
    else if (!data || !num(*data, t.data, 16))
      err = malformed("epoll", "data");
    else if (ino && !num(*ino, t.ino, 16))
      err = malformed("epoll", "ino");
    else if (sdev && !num(*sdev, t.sdev, 16))
      err = malformed("epoll", "sdev");
    else
      out.push_back(t);
  }
  if (err)
    return *err;
  return out;
}

Result<std::vector<InotifyWatchInfo>> parse_inotify_fdinfo(std::string_view text) {
  std::vector<InotifyWatchInfo> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line = trim(line);
    if (!line.starts_with("inotify "))
      continue;
    Pairs p(line.substr(8));
    InotifyWatchInfo w;
    auto wd = p.get("wd"), ino = p.get("ino"), sdev = p.get("sdev"), mask = p.get("mask");
    if (!wd || !num(*wd, w.wd, 16) || w.wd <= 0)
      return malformed("inotify", "wd");
    if (!ino || !num(*ino, w.ino, 16))
      return malformed("inotify", "ino");
    if (!sdev || !num(*sdev, w.sdev, 16))
      return malformed("inotify", "sdev");
    if (!mask || !num(*mask, w.mask, 16))
      return malformed("inotify", "mask");
    auto bytes = p.get("fhandle-bytes"), type = p.get("fhandle-type"), handle = p.get("f_handle");
    if (bytes && type && handle) {
      uint32_t n = 0;
      if (!num(*bytes, n, 16) || n > 128 || handle->size() != 2 * static_cast<size_t>(n) ||
          !num(*type, w.handle_type, 16))
        return malformed("inotify", "f_handle");
      for (uint32_t i = 0; i < n; i++) {
        uint8_t b = 0;
        if (!num(handle->substr(2 * i, 2), b, 16))
          return malformed("inotify", "f_handle");
        w.handle.push_back(b);
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::optional<uint32_t>> parse_socket_scm_fds(std::string_view text) {
  std::optional<uint32_t> n;
  bool bad = false;
  each_line(text, [&](std::string_view key, std::string_view val) {
    if (key == "scm_fds") {
      uint32_t v = 0;
      bad = bad || !num(val, v);
      n = v;
    }
  });
  if (bad)
    return malformed("socket", "scm_fds");
  return n;
}

} // namespace lmig

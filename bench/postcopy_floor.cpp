// postcopy_floor: what a post-copy page fault cannot beat on this machine.
//
// Three floors, each in two variants, measured from the thread that takes
// the fault (clock_gettime(CLOCK_MONOTONIC) around a one-byte read):
//
//   uffd_local       a fault on a MISSING-registered anonymous page, served
//                    by a handler thread with UFFDIO_COPY from a local buffer;
//   tcp_rr_4k        a 16-byte request and a 4096-byte reply over a loopback
//                    TCP connection (TCP_NODELAY), round trip;
//   uffd_tcp_fetch   both: the handler, on each fault, asks a server thread
//                    for the page over loopback TCP, then UFFDIO_COPY. This
//                    is the floor of a post-copy remote fault.
//
// Variants: "blocking" (the handler sleeps in poll()/read(), the TCP peers
// in blocking recv()) and "busy" (the handler spins on the non-blocking
// userfaultfd and every TCP peer spins on recv(MSG_DONTWAIT)).
//
// Pages are touched in a shuffled order; each page is touched once. A few
// hundred warm-up touches are not counted. Prints one JSON object on stdout:
// per floor and variant n, p50/p90/p99/p999/max/mean in microseconds and a
// CDF (quantiles); with --raw also every sample.
//
//   postcopy_floor [--samples N] [--warmup N] [--max-seconds S] [--raw]
//                  [--only uffd_local,tcp_rr_4k,uffd_tcp_fetch]
//
// Needs userfaultfd for user pages: root (or vm.unprivileged_userfaultfd=1).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/base/unique_fd.hpp"

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kRequest = 16;

struct Options {
  size_t samples = 10000;
  size_t warmup = 200;
  double max_seconds = 4.0; // per floor and variant
  bool raw = false;
  std::vector<std::string> only;
};

[[noreturn]] void fail(const std::string &what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

using Fd = lmig::UniqueFd; // (header-only: the floors link nothing of lmig)

// A busy-polling thread calls this on every empty poll: it never sleeps,
// but lets another runnable thread have the CPU. Without it, on a machine
// with as many busy threads as CPUs (2 here: the handler and the page
// server both spin) plus any other load, the thread that has work waits
// for a whole scheduler tick (2-8 ms measured) behind one that spins.
// --no-yield measures the pure spin.
bool g_spin_yield = true;

inline void spin_pause() {
  if (g_spin_yield)
    ::sched_yield();
}

// ---- loopback TCP ---------------------------------------------------------------

void nodelay(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
    fail("setsockopt TCP_NODELAY");
}

// A connected pair over 127.0.0.1: {client, server}.
std::pair<Fd, Fd> tcp_pair() {
  Fd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (l.get() < 0)
    fail("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(l.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) < 0 ||
      ::listen(l.get(), 1) < 0 || ::getsockname(l.get(), reinterpret_cast<sockaddr *>(&a), &len) < 0)
    fail("bind/listen 127.0.0.1:0");
  Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (c.get() < 0 || ::connect(c.get(), reinterpret_cast<sockaddr *>(&a), sizeof a) < 0)
    fail("connect 127.0.0.1");
  Fd s(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (s.get() < 0)
    fail("accept");
  nodelay(c.get());
  nodelay(s.get());
  return {std::move(c), std::move(s)};
}

// Sends or receives exactly len bytes. Busy: MSG_DONTWAIT and spin on
// EAGAIN. Returns false on EOF (receive) or a broken connection.
bool send_all(int fd, const void *buf, size_t len, bool busy) {
  const char *p = static_cast<const char *>(buf);
  size_t off = 0;
  while (off < len) {
    ssize_t n = ::send(fd, p + off, len - off, MSG_NOSIGNAL | (busy ? MSG_DONTWAIT : 0));
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      spin_pause();
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return false;
  }
  return true;
}

bool recv_all(int fd, void *buf, size_t len, bool busy, const std::atomic<bool> *stop = nullptr) {
  char *p = static_cast<char *>(buf);
  size_t off = 0;
  while (off < len) {
    ssize_t n = ::recv(fd, p + off, len - off, busy ? MSG_DONTWAIT : MSG_WAITALL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n == 0)
      return false;
    if (errno == EINTR || errno == EAGAIN) {
      if (stop && stop->load(std::memory_order_relaxed))
        return false;
      if (errno == EAGAIN)
        spin_pause();
      continue;
    }
    return false;
  }
  return true;
}

// Answers each 16-byte request with a 4096-byte page until EOF.
void page_server(int fd, bool busy, std::string &error) {
  std::vector<char> page(kPage);
  for (size_t i = 0; i < kPage; i++)
    page[i] = static_cast<char>(i * 131 + 7);
  char req[kRequest];
  for (;;) {
    if (!recv_all(fd, req, sizeof req, busy))
      return; // EOF: the client is done
    std::memcpy(page.data(), req, sizeof req); // the reply depends on the request
    if (!send_all(fd, page.data(), page.size(), busy)) {
      error = std::string("page server: send: ") + std::strerror(errno);
      return;
    }
  }
}

// ---- userfaultfd ----------------------------------------------------------------

Fd open_uffd() {
  int fd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd < 0)
    fail("userfaultfd (needs root or vm.unprivileged_userfaultfd=1)");
  Fd u(fd);
  uffdio_api api{};
  api.api = UFFD_API;
  if (::ioctl(u.get(), UFFDIO_API, &api) < 0)
    fail("UFFDIO_API");
  return u;
}

struct Region {
  char *base = nullptr;
  size_t len = 0;
  Region(size_t pages, int uffd) : len(pages * kPage) {
    void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      fail("mmap");
    base = static_cast<char *>(p);
    // Keep the kernel from backing this with huge pages: one fault per page.
    ::madvise(base, len, MADV_NOHUGEPAGE);
    uffdio_register r{};
    r.range.start = reinterpret_cast<uint64_t>(base);
    r.range.len = len;
    r.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (::ioctl(uffd, UFFDIO_REGISTER, &r) < 0)
      fail("UFFDIO_REGISTER");
  }
  Region(const Region &) = delete;
  Region &operator=(const Region &) = delete;
  ~Region() { ::munmap(base, len); }
};

// Reads one fault address from the userfaultfd. Blocking: sleeps in poll()
// (on the uffd and a stop eventfd); busy: spins on read(). Returns 0 when
// told to stop.
uint64_t next_fault(int uffd, bool busy, int stop_fd, const std::atomic<bool> &stop) {
  for (;;) {
    if (!busy) {
      pollfd p[2] = {{uffd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      int r = ::poll(p, 2, -1);
      if (r < 0 && errno != EINTR)
        fail("poll");
      if (p[1].revents)
        return 0;
    } else if (stop.load(std::memory_order_relaxed)) {
      return 0;
    }
    uffd_msg msg;
    ssize_t n = ::read(uffd, &msg, sizeof msg);
    if (n < 0 && errno == EAGAIN && busy)
      spin_pause();
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n != static_cast<ssize_t>(sizeof msg))
      fail("read userfaultfd");
    if (msg.event == UFFD_EVENT_PAGEFAULT)
      return msg.arg.pagefault.address & ~static_cast<uint64_t>(kPage - 1);
  }
}

void uffd_copy(int uffd, uint64_t dst, const void *src) {
  uffdio_copy c{};
  c.dst = dst;
  c.src = reinterpret_cast<uint64_t>(src);
  c.len = kPage;
  c.mode = 0; // and wake the faulting thread
  while (::ioctl(uffd, UFFDIO_COPY, &c) < 0) {
    if (errno == EEXIST) { // someone else installed it: just wake
      uffdio_range r{dst, kPage};
      ::ioctl(uffd, UFFDIO_WAKE, &r);
      return;
    }
    if (errno != EAGAIN)
      fail("UFFDIO_COPY");
  }
}

// After a handler failed: a zero page wherever nothing is yet (this wakes
// the toucher), so that it finishes and the error can be reported.
void unblock_all(int uffd, const Region &reg) {
  for (size_t off = 0; off < reg.len; off += kPage) {
    uffdio_zeropage z{};
    z.range.start = reinterpret_cast<uint64_t>(reg.base) + off;
    z.range.len = kPage;
    ::ioctl(uffd, UFFDIO_ZEROPAGE, &z);
  }
}

// ---- samples --------------------------------------------------------------------

struct Samples {
  std::vector<double> us;
  bool truncated = false; // stopped at --max-seconds
};

// Shuffled page order (xorshift64*, fixed seed): each page once.
std::vector<size_t> shuffled(size_t n) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), size_t{0});
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = n; i > 1; i--) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    size_t j = static_cast<size_t>((x * 0x2545f4914f6cdd1dull) % i);
    std::swap(v[i - 1], v[j]);
  }
  return v;
}

// The touching side of both fault floors: reads one byte of each page, in a
// shuffled order, timing each read.
Samples touch_all(const Region &reg, const Options &o) {
  const size_t pages = reg.len / kPage;
  auto order = shuffled(pages);
  Samples s;
  s.us.reserve(o.samples);
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(o.max_seconds * 1e9);
  for (size_t k = 0; k < pages; k++) {
    volatile const char *p = reg.base + order[k] * kPage;
    uint64_t t0 = now_ns();
    (void)*p;
    uint64_t t1 = now_ns();
    if (k >= o.warmup)
      s.us.push_back(static_cast<double>(t1 - t0) / 1000.0);
    if (t1 > deadline && k + 1 < pages) {
      s.truncated = true;
      break;
    }
  }
  return s;
}

// Touches every page of reg while a handler thread serves its faults with
// serve(addr, stop) (which installs the page); stops the handler and
// rethrows what went wrong in it.
Samples touch_while_serving(const Options &o, bool busy, const Fd &uffd, Region &reg,
                            const std::function<void(uint64_t, std::atomic<bool> &)> &serve) {
  Fd stop_fd(::eventfd(0, EFD_CLOEXEC));
  if (stop_fd.get() < 0)
    fail("eventfd");
  std::atomic<bool> stop{false};
  std::string error;
  std::thread handler([&] {
    try {
      for (;;) {
        uint64_t a = next_fault(uffd.get(), busy, stop_fd.get(), stop);
        if (!a)
          return;
        serve(a, stop);
      }
    } catch (const std::exception &e) {
      error = e.what();
      unblock_all(uffd.get(), reg);
    }
  });
  Samples s = touch_all(reg, o);
  stop = true;
  uint64_t one = 1;
  if (::write(stop_fd.get(), &one, sizeof one) != sizeof one)
    fail("eventfd write");
  handler.join();
  if (!error.empty())
    throw std::runtime_error(error);
  return s;
}

// a) fault served from local memory.
Samples floor_uffd_local(const Options &o, bool busy) {
  Fd uffd = open_uffd();
  Region reg(o.samples + o.warmup, uffd.get());
  std::vector<char> page(kPage, 'x');
  return touch_while_serving(o, busy, uffd, reg, [&](uint64_t a, std::atomic<bool> &) {
    page[0] = static_cast<char>(a >> 12);
    uffd_copy(uffd.get(), a, page.data());
  });
}

// b) 16-byte request, 4096-byte reply over loopback TCP.
Samples floor_tcp_rr(const Options &o, bool busy) {
  auto [c, srv] = tcp_pair();
  std::string error;
  std::thread server(page_server, srv.get(), busy, std::ref(error));
  Samples s;
  s.us.reserve(o.samples);
  std::vector<char> page(kPage);
  char req[kRequest] = {};
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(o.max_seconds * 1e9);
  std::string client_error;
  for (size_t k = 0; k < o.samples + o.warmup; k++) {
    std::memcpy(req, &k, sizeof k);
    uint64_t t0 = now_ns();
    if (!send_all(c.get(), req, sizeof req, busy) ||
        !recv_all(c.get(), page.data(), page.size(), busy)) {
      client_error = std::string("client: ") + std::strerror(errno);
      break;
    }
    uint64_t t1 = now_ns();
    if (std::memcmp(page.data(), req, sizeof req) != 0) {
      client_error = "client: reply does not match its request";
      break;
    }
    if (k >= o.warmup)
      s.us.push_back(static_cast<double>(t1 - t0) / 1000.0);
    if (t1 > deadline) {
      s.truncated = k + 1 < o.samples + o.warmup;
      break;
    }
  }
  ::shutdown(c.get(), SHUT_WR); // EOF: the server ends
  server.join();
  if (!client_error.empty())
    throw std::runtime_error(client_error);
  if (!error.empty())
    throw std::runtime_error(error);
  return s;
}

// c) fault -> request over loopback TCP -> 4 KiB reply -> UFFDIO_COPY.
Samples floor_uffd_tcp(const Options &o, bool busy) {
  Fd uffd = open_uffd();
  Region reg(o.samples + o.warmup, uffd.get());
  auto [c, srv] = tcp_pair();
  std::string server_error;
  std::thread server(page_server, srv.get(), busy, std::ref(server_error));
  std::vector<char> page(kPage);
  char req[kRequest] = {};
  Samples s;
  try {
    // The socket by an explicit reference: clang 14 cannot capture a
    // structured binding.
    s = touch_while_serving(o, busy, uffd, reg, [&, &c = c](uint64_t a, std::atomic<bool> &stop) {
      std::memcpy(req, &a, sizeof a);
      if (!send_all(c.get(), req, sizeof req, busy) ||
          !recv_all(c.get(), page.data(), page.size(), busy, &stop))
        fail("handler: page request");
      if (std::memcmp(page.data(), req, sizeof req) != 0)
        throw std::runtime_error("handler: reply does not match its request");
      uffd_copy(uffd.get(), a, page.data());
    });
  } catch (...) {
    ::shutdown(c.get(), SHUT_WR);
    server.join();
    throw;
  }
  ::shutdown(c.get(), SHUT_WR);
  server.join();
  if (!server_error.empty())
    throw std::runtime_error(server_error);
  return s;
}

// ---- output ---------------------------------------------------------------------

double quantile(const std::vector<double> &sorted, double q) {
  // Nearest rank.
  if (sorted.empty())
    return NAN;
  size_t n = sorted.size();
  size_t r = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
  return sorted[std::min(n, std::max<size_t>(r, 1)) - 1];
}

std::string num(double v) {
  if (!std::isfinite(v))
    return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string summary_json(Samples s, bool raw) {
  std::vector<double> v = s.us;
  std::sort(v.begin(), v.end());
  double mean = v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  std::string o = "{\"n\":" + std::to_string(v.size());
  o += ",\"p50_us\":" + num(quantile(v, 0.50));
  o += ",\"p90_us\":" + num(quantile(v, 0.90));
  o += ",\"p99_us\":" + num(quantile(v, 0.99));
  o += ",\"p999_us\":" + num(quantile(v, 0.999));
  o += ",\"min_us\":" + num(v.empty() ? NAN : v.front());
  o += ",\"max_us\":" + num(v.empty() ? NAN : v.back());
  o += ",\"mean_us\":" + num(mean);
  o += std::string(",\"truncated\":") + (s.truncated ? "true" : "false");
  // CDF: the q-quantile for q = 0, 0.01, ..., 1 and a finer tail.
  o += ",\"cdf_us\":[";
  std::vector<double> qs;
  for (int i = 0; i <= 100; i++)
    qs.push_back(i / 100.0);
  for (double q : {0.995, 0.999, 0.9995})
    qs.push_back(q);
  std::sort(qs.begin(), qs.end());
  bool first = true;
  for (double q : qs) {
    o += (first ? "" : ",") + std::string("[") + num(q) + "," +
         num(q == 0 ? (v.empty() ? NAN : v.front()) : quantile(v, q)) + "]";
    first = false;
  }
  o += "]";
  if (raw) {
    o += ",\"samples_us\":[";
    for (size_t i = 0; i < s.us.size(); i++)
      o += (i ? "," : "") + num(s.us[i]);
    o += "]";
  }
  return o + "}";
}

bool wanted(const Options &o, std::string_view name) {
  return o.only.empty() || std::find(o.only.begin(), o.only.end(), name) != o.only.end();
}

double clock_overhead_ns() {
  std::vector<double> d;
  for (int i = 0; i < 2001; i++) {
    uint64_t a = now_ns();
    uint64_t b = now_ns();
    d.push_back(static_cast<double>(b - a));
  }
  std::sort(d.begin(), d.end());
  return d[d.size() / 2];
}

void usage(FILE *f) {
  std::fprintf(f,
               "usage: postcopy_floor [--samples N] [--warmup N] [--max-seconds S] [--raw] [--no-yield]\n"
               "                      [--only uffd_local,tcp_rr_4k,uffd_tcp_fetch]\n");
}

} // namespace

int main(int argc, char **argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> const char * {
      if (a == name && i + 1 < argc)
        return argv[++i];
      if (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=')
        return argv[i] + name.size() + 1;
      return nullptr;
    };
    if (a == "--help") {
      usage(stdout);
      return 0;
    }
    if (a == "--raw") {
      o.raw = true;
    } else if (a == "--no-yield") {
      g_spin_yield = false;
    } else if (const char *v = value("--samples")) {
      o.samples = std::strtoull(v, nullptr, 10);
    } else if (const char *v2 = value("--warmup")) {
      o.warmup = std::strtoull(v2, nullptr, 10);
    } else if (const char *v3 = value("--max-seconds")) {
      o.max_seconds = std::strtod(v3, nullptr);
    } else if (const char *v4 = value("--only")) {
      std::string_view rest = v4;
      while (!rest.empty()) {
        size_t c = rest.find(',');
        o.only.emplace_back(rest.substr(0, c));
        rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
      }
    } else {
      std::fprintf(stderr, "postcopy_floor: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (o.samples == 0 || !(o.max_seconds > 0)) {
    usage(stderr);
    return 2;
  }
  struct Floor {
    const char *name;
    Samples (*run)(const Options &, bool);
  };
  const Floor floors[] = {{"uffd_local", floor_uffd_local},
                          {"tcp_rr_4k", floor_tcp_rr},
                          {"uffd_tcp_fetch", floor_uffd_tcp}};
  const uint64_t t0 = now_ns();
  std::string out = "{\"page_bytes\":" + std::to_string(kPage) +
                    ",\"request_bytes\":" + std::to_string(kRequest) +
                    ",\"samples\":" + std::to_string(o.samples) +
                    ",\"warmup\":" + std::to_string(o.warmup) +
                    ",\"busy_spin\":\"" + (g_spin_yield ? "sched_yield" : "pure") + "\"" +
                    ",\"clock_overhead_ns\":" + num(clock_overhead_ns());
  try {
    for (const auto &f : floors) {
      if (!wanted(o, f.name))
        continue;
      out += std::string(",\"") + f.name + "\":{";
      bool first = true;
      for (bool busy : {false, true}) {
        std::fprintf(stderr, "postcopy_floor: %s (%s) ...\n", f.name, busy ? "busy" : "blocking");
        Samples s = f.run(o, busy);
        out += std::string(first ? "" : ",") + "\"" + (busy ? "busy" : "blocking") +
               "\":" + summary_json(std::move(s), o.raw);
        first = false;
      }
      out += "}";
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "postcopy_floor: %s\n", e.what());
    return 1;
  }
  out += ",\"duration_s\":" + num(static_cast<double>(now_ns() - t0) / 1e9) + "}";
  std::printf("%s\n", out.c_str());
  return 0;
}

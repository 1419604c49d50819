// tcp_floor: the loopback TCP stream throughput floor that migration
// throughput is compared against, and next to it how fast this machine
// writes pages into memory never touched before (what every migrated page
// costs the target at least: on a VM each first touch may be a trap to the
// hypervisor).
//
// One sender and one receiver thread move --bytes-mib MiB over a fresh
// 127.0.0.1 connection in --chunk-kib KiB write() calls (TCP_NODELAY, as
// lmig's transport sets it). The time of one iteration runs from the first
// write until the sender has the receiver's one-byte acknowledgement that
// every byte arrived. Google Benchmark reports it (manual time) with
// bytes_per_second; --benchmark_format=json gives machine-readable output.
//
//   tcp_floor [--bytes-mib N] [--chunk-kib N] [--repetitions N] [--benchmark_...]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/base/unique_fd.hpp"

namespace {

struct Options {
  uint64_t bytes = 1024ull << 20;
  size_t chunk = 1024u << 10;
  int repetitions = 3;
};

using Fd = lmig::UniqueFd; // (header-only: the floors link nothing of lmig)

std::string errno_text(const char *what) { return std::string(what) + ": " + std::strerror(errno); }

void nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct Listener {
  Fd fd;
  sockaddr_in addr{};
  std::string error;

  Listener() : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (!fd) {
      error = errno_text("socket");
      return;
    }
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0 ||
        ::listen(fd.get(), 4) < 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr *>(&addr), &len) < 0)
      error = errno_text("bind/listen 127.0.0.1:0");
  }
};

// Receiver: reads until EOF, then acknowledges with one byte.
void receive(int listen_fd, std::vector<char> &buf, uint64_t &got, std::string &error) {
  Fd c(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (!c) {
    error = errno_text("accept");
    return;
  }
  nodelay(c.get());
  for (;;) {
    ssize_t r = ::read(c.get(), buf.data(), buf.size());
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      error = errno_text("read");
      return;
    }
    if (r == 0)
      break;
    got += static_cast<uint64_t>(r);
  }
  char ack = 'k';
  if (::write(c.get(), &ack, 1) != 1)
    error = errno_text("write ack");
}

// One stream of o.bytes; returns its duration in seconds, or < 0 on error.
double stream_once(const Options &o, const Listener &l, const std::vector<char> &src,
                   std::vector<char> &dst, std::string &error) {
  uint64_t got = 0;
  std::string rx_error;
  std::thread rx(receive, l.fd.get(), std::ref(dst), std::ref(got), std::ref(rx_error));
  double secs = -1;
  {
    Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s || ::connect(s.get(), reinterpret_cast<const sockaddr *>(&l.addr), sizeof l.addr) < 0) {
      error = errno_text("connect");
      // Unblock the receiver's accept with a connection that closes at once.
      Fd poke(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      ::connect(poke.get(), reinterpret_cast<const sockaddr *>(&l.addr), sizeof l.addr);
    } else {
      nodelay(s.get());
      const auto t0 = std::chrono::steady_clock::now();
      uint64_t sent = 0;
      while (sent < o.bytes && error.empty()) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(o.chunk, o.bytes - sent));
        size_t off = 0;
        while (off < want) {
          ssize_t w = ::write(s.get(), src.data() + off, want - off);
          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0) {
            error = errno_text("write");
            break;
          }
          off += static_cast<size_t>(w);
        }
        sent += off;
      }
      ::shutdown(s.get(), SHUT_WR);
      char ack = 0;
      ssize_t r;
      do
        r = ::read(s.get(), &ack, 1);
      while (r < 0 && errno == EINTR);
      const auto t1 = std::chrono::steady_clock::now();
      if (r != 1 && error.empty())
        error = "no acknowledgement from the receiver";
      secs = std::chrono::duration<double>(t1 - t0).count();
    }
  }
  rx.join();
  if (error.empty() && !rx_error.empty())
    error = "receiver: " + rx_error;
  if (error.empty() && got != o.bytes)
    error = "receiver got " + std::to_string(got) + " of " + std::to_string(o.bytes) + " bytes";
  return error.empty() ? secs : -1;
}

void BM_LoopbackTcpStream(benchmark::State &state, Options o) {
  Listener l;
  if (!l.error.empty()) {
    state.SkipWithError(l.error.c_str());
    return;
  }
  std::vector<char> src(o.chunk), dst(o.chunk);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto &c : src) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  std::memset(dst.data(), 0, dst.size());
  for (auto _ : state) {
    std::string error;
    double secs = stream_once(o, l, src, dst, error);
    if (secs < 0) {
      state.SkipWithError(error.c_str());
      break;
    }
    state.SetIterationTime(secs);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(o.bytes));
  state.counters["stream_bytes"] = static_cast<double>(o.bytes);
  state.counters["chunk_bytes"] = static_cast<double>(o.chunk);
}

bool take_value(std::string_view arg, std::string_view name, long long &out) {
  if (!arg.starts_with(name) || arg.size() <= name.size() || arg[name.size()] != '=')
    return false;
  std::string v(arg.substr(name.size() + 1));
  char *end = nullptr;
  errno = 0;
  out = std::strtoll(v.c_str(), &end, 10);
  if (errno || !end || *end || out <= 0) {
    std::fprintf(stderr, "tcp_floor: bad value in '%s'\n", std::string(arg).c_str());
    std::exit(2);
  }
  return true;
}

} // namespace

// One iteration: --bytes-mib MiB of fresh anonymous memory written 4 KiB at
// a time from a hot buffer, as UFFDIO_COPY fills a migrated process.
void BM_FreshMemoryWrite(benchmark::State &state, Options o) {
  std::vector<char> page(4096, 7);
  for (auto _ : state) {
    void *p = ::mmap(nullptr, o.bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      state.SkipWithError("mmap failed");
      return;
    }
    auto t0 = std::chrono::steady_clock::now();
    for (uint64_t off = 0; off < o.bytes; off += page.size())
      std::memcpy(static_cast<char *>(p) + off, page.data(), page.size());
    auto t1 = std::chrono::steady_clock::now();
    ::munmap(p, o.bytes);
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * o.bytes));
}

int main(int argc, char **argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Options o;
  // Our own flags (--name=N or --name N) are taken out before Google
  // Benchmark sees the rest.
  std::vector<char *> rest{argv[0]};
  std::vector<std::string> joined;
  joined.reserve(static_cast<size_t>(argc));
  for (int i = 1; i < argc; i++) {
    std::string_view a = argv[i];
    for (std::string_view n : {"--bytes-mib", "--chunk-kib", "--repetitions"})
      if (a == n && i + 1 < argc) {
        joined.push_back(std::string(n) + "=" + argv[++i]);
        a = joined.back();
      }
    long long v = 0;
    if (take_value(a, "--bytes-mib", v))
      o.bytes = static_cast<uint64_t>(v) << 20;
    else if (take_value(a, "--chunk-kib", v))
      o.chunk = static_cast<size_t>(v) << 10;
    else if (take_value(a, "--repetitions", v))
      o.repetitions = static_cast<int>(v);
    else
      rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  rest.push_back(nullptr);
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data()))
    return 2;
  std::string name = "loopback_tcp_stream/bytes:" + std::to_string(o.bytes) +
                     "/chunk:" + std::to_string(o.chunk);
  benchmark::RegisterBenchmark(name.c_str(), BM_LoopbackTcpStream, o)
      ->UseManualTime()
      ->Iterations(1)
      ->Repetitions(o.repetitions)
      ->Unit(benchmark::kMillisecond);
  std::string fresh = "fresh_memory_write/bytes:" + std::to_string(o.bytes);
  benchmark::RegisterBenchmark(fresh.c_str(), BM_FreshMemoryWrite, o)
      ->UseManualTime()
      ->Iterations(1)
      ->Repetitions(o.repetitions)
      ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

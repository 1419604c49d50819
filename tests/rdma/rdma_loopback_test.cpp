// The RDMA transport end to end on a real verbs device (rxe0 inside the
// tools/rdma-vm guest): a "source" and a "target" in one process, each on
// threads of its own, connected through rdma_cm on HOST:PORT with a demand
// link and a bulk link, as a post-copy migration would be. It moves pages
// with their xxh3 both ways and checks every byte:
//   1. hello / hello-ack, and an image-sized message (fragmented SENDs);
//   2. demand: 4 KiB page requests answered one at a time (latency p50/p99),
//      then 64-page fault-around runs (throughput of request/response);
//   3. push: the source streams its memory on the bulk link, runs of 32
//      pages; every Nth run is damaged after hashing and the target asks for
//      it again on the demand link (kRequestRetry), as the pager does;
//   4. push the other way (target -> source) on the same bulk link;
//   5. done; both sides compare their copies with the originals.
// Prints the figures as text and one JSON line. Exit 0 only if every page
// arrived intact. Usage: rdma_loopback_test [--addr IP] [--port N]
//   [--push-mib N] [--reverse-mib N] [--demand-mib N] [--lat-iters N]
//   [--corrupt-every N] [--spin-us N]
#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/clock.hpp"
#include "engine/base/mapping.hpp"
#include "transport/rdma/rdma_link.hpp"
#include "transport/rdma/rdma_listener.hpp"
#include "transport/wire.hpp"

using namespace lmig;
using namespace lmig::rdma;

namespace {

struct Options {
  std::string addr = "10.77.0.1";
  uint16_t port = 18600;
  uint64_t push_mib = 192;
  uint64_t reverse_mib = 64;
  uint64_t demand_mib = 32;
  uint32_t lat_iters = 2000;
  uint32_t corrupt_every = 997;
  int timeout_ms = 60000;
  uint64_t spin_us = 50;        // the links' spin before sleeping
  uint64_t poll_spin_us = 1000000; // the polled latency phase: never sleep
};

constexpr uint64_t kBase = 0x7f0000000000ull; // where the "process" memory seems to live
constexpr uint32_t kDemandRun = 64;
constexpr uint32_t kPushRun = 32;

void fill(Mapping &m, uint64_t seed) {
  auto *w = reinterpret_cast<uint64_t *>(m.get());
  size_t n = m.size() / 8;
  uint64_t x = seed;
  for (size_t i = 0; i < n; i++) {
    x += 0x9e3779b97f4a7c15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    w[i] = z ^ (z >> 27);
  }
}

[[noreturn]] void die(const std::string &what, const Error &e) {
  std::fprintf(stderr, "rdma-loopback: %s: %s\n", what.c_str(), e.describe().c_str());
  std::exit(1);
}
[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "rdma-loopback: %s\n", what.c_str());
  std::exit(1);
}

template <typename T> T must(Result<T> r, const std::string &what) {
  if (!r.ok())
    die(what, r.error());
  return std::move(r.value());
}
void must(Status s, const std::string &what) {
  if (!s.ok())
    die(what, s.error());
}

double mbps(uint64_t bytes, uint64_t ns) { return ns ? double(bytes) / (double(ns) / 1e9) / 1e6 : 0; }

// Reads `n` pages at `addr` of `mem` into a staging buffer and writes them.
void send_run(RdmaLink &l, const Mapping &mem, uint64_t addr, uint32_t n, uint32_t flags,
              bool corrupt) {
  auto s = must(l.acquire(), "acquire staging");
  size_t len = size_t(n) * kPageSize;
  std::memcpy(s.data, mem.bytes() + (addr - kBase), len); // process_vm_readv in lmig
  wire::PagesHeader h{addr, n, flags, XXH3_64bits(s.data, len)};
  if (corrupt)
    s.data[len / 2] ^= 0x40; // damaged after hashing, "in transit"
  must(l.send_pages(s, h), "send pages");
}

// Checks a pages message and installs it into `dst` (UFFDIO_COPY in lmig).
bool install(RdmaLink &l, const Incoming &m, Mapping &dst) {
  if (m.pages.addr < kBase || m.pages.addr + uint64_t(m.pages.npages) * kPageSize > kBase + dst.size())
    die("pages outside the region");
  bool ok = m.checksum_ok;
  if (ok)
    std::memcpy(dst.bytes() + (m.pages.addr - kBase), m.data, size_t(m.pages.npages) * kPageSize);
  must(l.release(m), "release slot");
  return ok;
}

// ------------------------------------------------------------- source ----

struct SourceResult {
  uint64_t served = 0, pushed_runs = 0, corrupted = 0, reverse_bytes = 0, reverse_bad = 0;
  LinkStats demand, bulk;
};

void source_demand(RdmaLink &l, const Mapping &mem, SourceResult &r) {
  for (;;) {
    Incoming m = must(l.next(-1), "source: demand link");
    switch (m.type) {
    case wire::Type::hello: {
      auto h = must(wire::decode_hello(m.payload()), "source: hello");
      wire::Hello ack;
      ack.host = "source";
      ack.session = h.session;
      must(l.send(wire::Type::hello_ack, wire::encode(ack)), "source: hello-ack");
      break;
    }
    case wire::Type::image: {
      // An image-sized message: echo its checksum back as an error-typed
      // message would be odd; answer with `ready` carrying the xxh3.
      uint64_t x = XXH3_64bits(m.payload().data(), m.payload().size());
      std::vector<uint8_t> p(8);
      std::memcpy(p.data(), &x, 8);
      must(l.send(wire::Type::ready, p), "source: ready");
      break;
    }
    case wire::Type::page_request: {
      auto req = must(wire::decode_page_request(m.payload()), "source: page request");
      send_run(l, mem, req.addr, req.npages, req.flags, false);
      r.served += req.npages;
      break;
    }
    case wire::Type::done:
      must(wire::decode_done(m.payload()), "source: done");
      must(l.flush(), "source: flush demand");
      r.demand = l.stats();
      return;
    default:
      die(std::string("source: unexpected ") + wire::type_name(m.type) + " on the demand link");
    }
  }
}

void source_bulk(RdmaLink &l, const Mapping &mem, Mapping &reverse_dst, const Options &o,
                 SourceResult &r) {
  // The push starts when the target asks (so that it does not disturb the
  // latency figures, and its throughput is measured from an empty ring).
  Incoming go = must(l.next(-1), "source: bulk link");
  if (go.type != wire::Type::ready)
    die(std::string("source: unexpected ") + wire::type_name(go.type) + " on the bulk link");
  uint64_t pages = (o.push_mib << 20) / kPageSize;
  for (uint64_t p = 0; p < pages; p += kPushRun) {
    auto n = static_cast<uint32_t>(std::min<uint64_t>(kPushRun, pages - p));
    bool corrupt = o.corrupt_every && (r.pushed_runs + 1) % o.corrupt_every == 0;
    send_run(l, mem, kBase + p * kPageSize, n, 0, corrupt);
    r.pushed_runs++;
    r.corrupted += corrupt;
  }
  must(l.send(wire::Type::pages_end), "source: pages-end");
  // Then the other way: the target pushes, this side installs.
  for (;;) {
    Incoming m = must(l.next(o.timeout_ms), "source: reverse push");
    if (m.type == wire::Type::pages_end)
      break;
    if (m.type != wire::Type::pages)
      die(std::string("source: unexpected ") + wire::type_name(m.type) + " on the bulk link");
    r.reverse_bytes += uint64_t(m.pages.npages) * kPageSize;
    if (!install(l, m, reverse_dst))
      r.reverse_bad++;
  }
  must(l.flush(), "source: flush bulk");
  r.bulk = l.stats();
}

// ------------------------------------------------------------- target ----

struct TargetResult {
  std::vector<double> lat_us, lat_sleep_us;
  uint64_t demand_bytes = 0, demand_ns = 0;
  uint64_t push_bytes = 0, push_ns = 0, retries = 0;
  uint64_t reverse_bytes = 0, reverse_ns = 0;
  uint64_t image_bytes = 0;
  LinkStats demand, bulk;
};

// One request, one answer (a demand fault).
void fetch(RdmaLink &l, Mapping &dst, uint64_t addr, uint32_t n, uint32_t flags, int timeout_ms) {
  wire::PageRequest req{addr, n, flags};
  must(l.send(wire::Type::page_request, wire::encode(req)), "target: page request");
  Incoming m = must(l.next(timeout_ms), "target: page answer");
  if (m.type != wire::Type::pages || m.pages.addr != addr || m.pages.npages != n)
    die("target: the answer is not the pages asked for");
  if (!install(l, m, dst))
    die("target: demand pages failed their checksum");
}

void target(RdmaLink &demand, RdmaLink &bulk, RdmaLink *source_demand_link, Mapping &dst, const Mapping &reverse_src,
            const Options &o, TargetResult &r) {
  wire::Hello hello;
  hello.host = "target";
  hello.session = 42;
  must(demand.send(wire::Type::hello, wire::encode(hello)), "target: hello");
  Incoming ack = must(demand.next(o.timeout_ms), "target: hello-ack");
  if (ack.type != wire::Type::hello_ack || must(wire::decode_hello(ack.payload()), "ack").session != 42)
    die("target: no hello-ack");

  // An image-sized message: many fragments.
  std::vector<uint8_t> image(300000);
  for (size_t i = 0; i < image.size(); i++)
    image[i] = static_cast<uint8_t>(i * 131 + 7);
  must(demand.send(wire::Type::image, image), "target: image");
  Incoming ready = must(demand.next(o.timeout_ms), "target: ready");
  uint64_t x = XXH3_64bits(image.data(), image.size()), got = 0;
  if (ready.type != wire::Type::ready || ready.payload().size() != 8)
    die("target: no ready");
  std::memcpy(&got, ready.payload().data(), 8);
  if (got != x)
    die("target: the image arrived damaged");
  r.image_bytes = image.size();

  // Latency: one page at a time, spread over the region; first with both
  // ends busy-polling through the whole round trip (as perftest does), then
  // with both sleeping on their completion channels at once.
  uint64_t pages = dst.size() / kPageSize;
  for (int mode = 0; mode < 2; mode++) {
    uint64_t spin = mode == 0 ? o.poll_spin_us * 1000 : 0;
    demand.set_spin_ns(spin);
    source_demand_link->set_spin_ns(spin);
    auto &lat = mode == 0 ? r.lat_us : r.lat_sleep_us;
    for (uint32_t i = 0; i < o.lat_iters; i++) {
      uint64_t page = (uint64_t(i) * 7919 + mode) % pages;
      uint64_t t0 = now_ns();
      fetch(demand, dst, kBase + page * kPageSize, 1, 0, o.timeout_ms);
      lat.push_back(double(now_ns() - t0) / 1e3);
    }
  }
  demand.set_spin_ns(o.spin_us * 1000);
  source_demand_link->set_spin_ns(o.spin_us * 1000);
  // Fault-around runs.
  uint64_t dpages = std::min<uint64_t>((o.demand_mib << 20) / kPageSize, pages);
  uint64_t t0 = now_ns();
  for (uint64_t p = 0; p + kDemandRun <= dpages; p += kDemandRun) {
    fetch(demand, dst, kBase + p * kPageSize, kDemandRun, 0, o.timeout_ms);
    r.demand_bytes += uint64_t(kDemandRun) * kPageSize;
  }
  r.demand_ns = now_ns() - t0;

  // The push, damaged runs fetched again on the demand link.
  t0 = now_ns();
  must(bulk.send(wire::Type::ready), "target: start the push");
  for (;;) {
    Incoming m = must(bulk.next(o.timeout_ms), "target: push");
    if (m.type == wire::Type::pages_end)
      break;
    if (m.type != wire::Type::pages)
      die(std::string("target: unexpected ") + wire::type_name(m.type) + " on the bulk link");
    uint64_t addr = m.pages.addr;
    uint32_t n = m.pages.npages;
    r.push_bytes += uint64_t(n) * kPageSize;
    if (!install(bulk, m, dst)) {
      r.retries++;
      fetch(demand, dst, addr, n, wire::kRequestRetry, o.timeout_ms);
    }
  }
  r.push_ns = now_ns() - t0;

  // The other way.
  t0 = now_ns();
  uint64_t rpages = reverse_src.size() / kPageSize;
  for (uint64_t p = 0; p < rpages; p += kPushRun) {
    auto n = static_cast<uint32_t>(std::min<uint64_t>(kPushRun, rpages - p));
    send_run(bulk, reverse_src, kBase + p * kPageSize, n, 0, false);
    r.reverse_bytes += uint64_t(n) * kPageSize;
  }
  must(bulk.send(wire::Type::pages_end), "target: pages-end");
  must(bulk.flush(), "target: flush bulk");
  r.reverse_ns = now_ns() - t0;

  wire::Done done;
  done.pages_demand = o.lat_iters + r.demand_bytes / kPageSize;
  done.pages_pushed = r.push_bytes / kPageSize;
  done.checksum_retries = r.retries;
  must(demand.send(wire::Type::done, wire::encode(done)), "target: done");
  must(demand.flush(), "target: flush demand");
  r.demand = demand.stats();
  r.bulk = bulk.stats();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * double(v.size() - 1) + 0.5));
  return v[i];
}

bool parse(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> const char * { return i + 1 < argc ? argv[++i] : nullptr; };
    const char *v = nullptr;
    if (a == "--addr" && (v = val()))
      o.addr = v;
    else if (a == "--port" && (v = val()))
      o.port = static_cast<uint16_t>(std::atoi(v));
    else if (a == "--push-mib" && (v = val()))
      o.push_mib = std::strtoull(v, nullptr, 10);
    else if (a == "--reverse-mib" && (v = val()))
      o.reverse_mib = std::strtoull(v, nullptr, 10);
    else if (a == "--demand-mib" && (v = val()))
      o.demand_mib = std::strtoull(v, nullptr, 10);
    else if (a == "--lat-iters" && (v = val()))
      o.lat_iters = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    else if (a == "--spin-us" && (v = val()))
      o.spin_us = std::strtoull(v, nullptr, 10);
    else if (a == "--corrupt-every" && (v = val()))
      o.corrupt_every = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    else
      return false;
  }
  return o.push_mib > 0 && o.reverse_mib > 0;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (const char *ip = std::getenv("RDMAVM_IP"))
    o.addr = ip;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: %s [--addr IP] [--port N] [--push-mib N] [--reverse-mib N] "
                         "[--demand-mib N] [--lat-iters N] [--corrupt-every N] [--spin-us N]\n", argv[0]);
    return 2;
  }
  std::string where = o.addr + ":" + std::to_string(o.port);
  Endpoint ep = must(parse_endpoint(where), "address");

  Mapping src = must(Mapping::anonymous(o.push_mib << 20), "source memory");
  Mapping dst = must(Mapping::anonymous(o.push_mib << 20), "target memory");
  Mapping rsrc = must(Mapping::anonymous(o.reverse_mib << 20), "target's memory to push back");
  Mapping rdst = must(Mapping::anonymous(o.reverse_mib << 20), "source's copy of it");
  fill(src, 1);
  fill(rsrc, 2);

  RdmaListener listener = must(RdmaListener::bind(ep), "listen");
  // Both links push both ways in this test: give each side slots and staging.
  LinkConfig d_src = LinkConfig::demand_source(), d_tgt = LinkConfig::demand_target();
  LinkConfig b_src = LinkConfig::bulk_source(), b_tgt = LinkConfig::bulk_target();
  b_src.slot_count = b_tgt.slot_count;
  b_src.slot_pages = b_tgt.slot_pages;
  b_src.recv_count = b_tgt.recv_count;
  b_tgt.staging_count = b_src.staging_count;
  b_tgt.staging_pages = b_src.staging_pages;
  b_tgt.session = d_tgt.session = 42;
  for (LinkConfig *c : {&d_src, &d_tgt, &b_src, &b_tgt})
    c->spin_ns = o.spin_us * 1000;

  std::unique_ptr<RdmaLink> s_demand, s_bulk;
  std::thread acceptor([&] {
    for (int i = 0; i < 2; i++) {
      ConnectRequest req = must(listener.next_request(o.timeout_ms), "source: accept");
      bool bulk = req.peer_params().role == static_cast<uint16_t>(wire::Role::bulk);
      auto link = must(RdmaLink::accept(std::move(req), bulk ? b_src : d_src, o.timeout_ms),
                       "source: accept link");
      (bulk ? s_bulk : s_demand) = std::move(link);
    }
  });
  uint64_t t_connect = now_ns();
  auto t_demand = must(RdmaLink::connect(ep, d_tgt, o.timeout_ms), "target: connect demand");
  auto t_bulk = must(RdmaLink::connect(ep, b_tgt, o.timeout_ms), "target: connect bulk");
  acceptor.join();
  t_connect = now_ns() - t_connect;
  if (!s_demand || !s_bulk)
    die("source: the links arrived with the wrong roles");

  SourceResult sr;
  TargetResult tr;
  uint64_t t0 = now_ns();
  std::thread sd([&] { source_demand(*s_demand, src, sr); });
  std::thread sb([&] { source_bulk(*s_bulk, src, rdst, o, sr); });
  target(*t_demand, *t_bulk, s_demand.get(), dst, rsrc, o, tr);
  sd.join();
  sb.join();
  uint64_t total_ns = now_ns() - t0;

  bool same = std::memcmp(src.get(), dst.get(), src.size()) == 0;
  bool rsame = std::memcmp(rsrc.get(), rdst.get(), rsrc.size()) == 0;
  double p50 = percentile(tr.lat_us, 0.5), p99 = percentile(tr.lat_us, 0.99),
         pmax = percentile(tr.lat_us, 1.0);
  double s50 = percentile(tr.lat_sleep_us, 0.5), s99 = percentile(tr.lat_sleep_us, 0.99),
         smax = percentile(tr.lat_sleep_us, 1.0);
  double d_mbps = mbps(tr.demand_bytes, tr.demand_ns), p_mbps = mbps(tr.push_bytes, tr.push_ns),
         r_mbps = mbps(tr.reverse_bytes, tr.reverse_ns);

  std::printf("rdma-loopback on %s (links set up in %.1f ms)\n", where.c_str(), double(t_connect) / 1e6);
  std::printf("  messages: hello/hello-ack, a %" PRIu64 "-byte image in fragments: ok\n", tr.image_bytes);
  std::printf("  demand 4 KiB request/response, busy-polling: n=%u p50 %.1f us  p99 %.1f us  max %.1f us\n",
              o.lat_iters, p50, p99, pmax);
  std::printf("  demand 4 KiB request/response, sleeping:     n=%u p50 %.1f us  p99 %.1f us  max %.1f us\n",
              o.lat_iters, s50, s99, smax);
  std::printf("  demand %u-page runs: %.1f MiB at %.1f MB/s\n", kDemandRun,
              double(tr.demand_bytes) / 1048576.0, d_mbps);
  std::printf("  push source->target (%u-page runs): %.1f MiB at %.1f MB/s; %" PRIu64
              " damaged runs fetched again (%" PRIu64 " damaged in transit)\n",
              kPushRun, double(tr.push_bytes) / 1048576.0, p_mbps, tr.retries, sr.corrupted);
  std::printf("  push target->source: %.1f MiB at %.1f MB/s (%" PRIu64 " bad)\n",
              double(tr.reverse_bytes) / 1048576.0, r_mbps, sr.reverse_bad);
  std::printf("  bulk link, source side: %" PRIu64 " writes, %" PRIu64 " sends, %" PRIu64
              " credit sends, %" PRIu64 " sleeps, %" PRIu64 " waits for a slot\n",
              sr.bulk.writes, sr.bulk.sends, sr.bulk.credit_sends, sr.bulk.sleeps,
              sr.bulk.waits_for_slots);
  std::printf("  bulk link, target side: %" PRIu64 " recvs, %" PRIu64 " credit sends, %" PRIu64
              " sleeps\n", tr.bulk.recvs, tr.bulk.credit_sends, tr.bulk.sleeps);
  std::printf("  copies identical: source->target %s, target->source %s (%.1f s in all)\n",
              same ? "yes" : "NO", rsame ? "yes" : "NO", double(total_ns) / 1e9);
  bool ok = same && rsame && tr.retries == sr.corrupted && sr.reverse_bad == 0;
  std::printf("{\"rdma_loopback\":{\"ok\":%s,\"lat_n\":%u,\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,"
              "\"lat_sleep_p50_us\":%.1f,\"lat_sleep_p99_us\":%.1f,\"demand_mib\":%.1f,\"demand_mbps\":%.1f,\"push_mib\":%.1f,\"push_mbps\":%.1f,"
              "\"reverse_mib\":%.1f,\"reverse_mbps\":%.1f,\"checksum_retries\":%" PRIu64 "}}\n",
              ok ? "true" : "false", o.lat_iters, p50, p99, s50, s99, double(tr.demand_bytes) / 1048576.0,
              d_mbps, double(tr.push_bytes) / 1048576.0, p_mbps,
              double(tr.reverse_bytes) / 1048576.0, r_mbps, tr.retries);
  return ok ? 0 : 1;
}

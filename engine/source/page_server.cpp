#include "engine/source/page_server.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "engine/base/clock.hpp"
#include "engine/base/log.hpp"
#include "engine/capture/page_inventory.hpp"

namespace lmig {
namespace {
constexpr uint64_t kPage = 4096;
}

PageServer::PageServer(Config cfg, std::unique_ptr<Channel> demand, std::unique_ptr<Channel> bulk)
    : cfg_(std::move(cfg)), demand_(std::move(demand)), bulk_(std::move(bulk)),
      demand_reader_(cfg_.pid) {}

PageServer::~PageServer() = default;

const VmaImage *PageServer::region_of(uint64_t addr) const {
  auto it = std::upper_bound(cfg_.regions.begin(), cfg_.regions.end(), addr,
                             [](uint64_t a, const VmaImage &v) { return a < v.end; });
  if (it == cfg_.regions.end() || it->start > addr)
    return nullptr;
  return &*it;
}

bool PageServer::claim(uint64_t addr) {
  std::lock_guard lock(sent_mu_);
  auto &bits = sent_[addr >> 21];
  size_t bit = (addr >> 12) & 511;
  if (bits.test(bit))
    return false;
  bits.set(bit);
  return true;
}

Status PageServer::send_pages(Channel &c, uint64_t addr, uint32_t n, bool retry,
                              PageReader &reader) {
  LMIG_ASSIGN_OR_RETURN(auto buf, c.acquire());
  size_t len = static_cast<size_t>(n) * kPage;
  LMIG_TRY(reader.read(addr, buf.data, len));
  // A sealed channel's tag covers the pages; the checksum is for clear
  // links (and for the test switch that damages frames before they go).
  const bool checksum = !c.sealed() || cfg_.corrupt_every;
  wire::PagesHeader h{addr, n, checksum ? 0 : wire::kPagesSealedNoChecksum,
                      checksum ? XXH3_64bits(buf.data, len) : 0};
  uint64_t frame = ++frames_;
  if (cfg_.corrupt_every && (!retry || cfg_.corrupt_retries) && frame % cfg_.corrupt_every == 0)
    buf.data[len / 2] ^= 0x5a; // test-only: damage this frame in transit
  return c.send_pages(buf, h);
}

Status PageServer::serve(const wire::PageRequest &req) {
  // Any page of the lazy memory may be asked for (before the inventory has
  // reached the target, it cannot know which exist: those that do not read
  // as zeros). Clip to the VMA.
  const VmaImage *v = region_of(req.addr);
  if (!v)
    return make_error(LMIG_ERR_PROTOCOL, "target asked for a page outside the process's memory");
  uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(req.npages, (v->end - req.addr) / kPage));
  // Answers larger than the channel carries in one run go as several.
  for (uint32_t done = 0; done < n;) {
    uint32_t part = std::min(n - done, demand_->max_pages());
    uint64_t a = req.addr + done * kPage;
    for (uint32_t k = 0; k < part; k++)
      claim(a + k * kPage);
    LMIG_TRY(send_pages(*demand_, a, part, req.flags & wire::kRequestRetry, demand_reader_));
    done += part;
  }
  served_ += n;
  last_demand_ns_ = now_ns();
  {
    std::lock_guard lock(hints_mu_);
    hints_.push_back(req.addr + n * kPage); // push what follows the fault next
    if (hints_.size() > 64)
      hints_.pop_front();
  }
  return {};
}

Status PageServer::push_range(uint64_t start, uint64_t end, PageReader &reader) {
  uint64_t a = start;
  while (a < end && !stop_) {
    // While faults are being answered, step aside: the CPU and the wire are
    // theirs first (the target's blocked thread waits on each answer).
    while (now_ns() - last_demand_ns_ < 200000 && !stop_)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    if (!claim(a)) { // a fault fetched it already
      a += kPage;
      continue;
    }
    uint32_t n = 1;
    const uint32_t limit = std::min(cfg_.push_run_pages, bulk_->max_pages());
    while (n < limit && a + n * kPage < end && claim(a + n * kPage))
      n++;
    LMIG_TRY(push_frame(a, n, reader));
    pushed_ += n;
    a += n * kPage;
  }
  return {};
}

namespace {
bool link_dropped(const Error &e) {
  return e.code == LMIG_ERR_CONNECTION_LOST || e.code == LMIG_ERR_TIMEOUT;
}
} // namespace

Status PageServer::relink_bulk() {
  LMIG_ASSIGN_OR_RETURN(auto c, cfg_.reconnect(false));
  {
    std::lock_guard lock(bulk_mu_);
    bulk_ = std::move(c);
  }
  return send_inventory(); // the target may not have all of it
}

Status PageServer::push_frame(uint64_t addr, uint32_t n, PageReader &reader) {
  if (cfg_.drop_bulk_after && pushed_frames_++ == cfg_.drop_bulk_after) {
    std::lock_guard lock(bulk_mu_);
    bulk_->shut_down(); // test-only: the link is lost here
  }
  Status st = send_pages(*bulk_, addr, n, false, reader);
  if (st.ok() || !link_dropped(st.error()) || !cfg_.reconnect || stop_)
    return st;
  // Runs queued on the broken link may be lost: the target asks for
  // whatever is still missing once the push ends.
  LMIG_WARN("bulk connection lost (%s); dialling again", st.error().message.c_str());
  LMIG_TRY(relink_bulk());
  return send_pages(*bulk_, addr, n, false, reader);
}

Status PageServer::send_inventory() {
  if (runs_.empty() && !inventory_pages_) {
    LMIG_ASSIGN_OR_RETURN(runs_, page_inventory(cfg_.pid, cfg_.regions));
  }
  wire::InventoryChunk chunk;
  uint64_t pages = 0;
  for (size_t i = 0; i <= runs_.size(); i++) {
    if (i < runs_.size()) {
      chunk.runs.emplace_back(runs_[i].addr, runs_[i].npages);
      pages += runs_[i].npages;
    }
    if (chunk.runs.size() == wire::kInventoryRunsPerFrame || i == runs_.size()) {
      chunk.last = i == runs_.size();
      LMIG_TRY(bulk_->send(wire::Type::inventory, wire::encode(chunk)));
      chunk.runs.clear();
    }
  }
  inventory_pages_ = pages;
  return {};
}

void PageServer::push_loop() {
  // The push is background work: a demand request runs first.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 5);
  PageReader reader(cfg_.pid);
  auto run_range = [&](uint64_t from, uint64_t limit) -> Status {
    // [from, from + limit) clipped to the runs it crosses
    uint64_t to = from + limit;
    for (const auto &r : runs_) {
      uint64_t rs = r.addr, re = r.addr + r.npages * kPage;
      if (re <= from || rs >= to)
        continue;
      LMIG_TRY(push_range(std::max(rs, from), std::min(re, to), reader));
    }
    return {};
  };
  auto take_hints = [&]() -> Status {
    for (;;) {
      uint64_t h;
      {
        std::lock_guard lock(hints_mu_);
        if (hints_.empty())
          return {};
        h = hints_.front();
        hints_.pop_front();
      }
      LMIG_TRY(run_range(h, 1024 * kPage)); // stay ahead of faults walking forward
    }
  };
  // Nothing is pushed (nor the inventory walked) until the process runs:
  // before that the push only takes CPU from the restore, and the
  // downtime is what the process feels. Faults meanwhile go on demand.
  while (!saw_running_ && !stop_)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  Status st = send_inventory();
  for (uint32_t waited = 0; waited < cfg_.push_delay_ms && !stop_; waited += 10)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // The live part of the stack first: it is touched right after resuming.
  if (st.ok() && cfg_.stack_hint) {
    for (const auto &r : runs_)
      if (cfg_.stack_hint >= r.addr && cfg_.stack_hint < r.addr + r.npages * kPage)
        st = push_range((cfg_.stack_hint & ~(kPage - 1)) - 16 * kPage > r.addr
                            ? (cfg_.stack_hint & ~(kPage - 1)) - 16 * kPage
                            : r.addr,
                        r.addr + r.npages * kPage, reader);
  }
  for (const auto &r : runs_) {
    if (!st.ok() || stop_)
      break;
    uint64_t end = r.addr + r.npages * kPage;
    for (uint64_t a = r.addr; a < end && st.ok() && !stop_;) {
      st = take_hints();
      if (!st.ok())
        break;
      uint64_t chunk_end = std::min(end, a + 4 * cfg_.push_run_pages * kPage);
      st = push_range(a, chunk_end, reader);
      a = chunk_end;
    }
  }
  if (st.ok() && !stop_) {
    st = bulk_->flush();
    if (!st.ok() && link_dropped(st.error()) && cfg_.reconnect && !stop_)
      st = relink_bulk(); // what was lost is asked for after pages_end
  }
  if (st.ok() && !stop_)
    st = bulk_->send(wire::Type::pages_end);
  if (!st.ok() && !stop_) {
    std::lock_guard lock(push_error_mu_);
    push_error_ = std::move(st);
  }
}

Result<wire::Done> PageServer::run(
    const std::function<void(const wire::Running &)> &on_running) {
  // This thread answers faults: a blocked thread on the target waits for
  // each answer, so it runs ahead of everything else (it only ever blocks
  // in recv, never spins). Restored when serving ends.
  int old_policy = ::sched_getscheduler(0);
  sched_param old_param{};
  ::sched_getparam(0, &old_param);
  sched_param rt{};
  rt.sched_priority = 1;
  if (::sched_setscheduler(0, SCHED_FIFO, &rt) < 0)
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), -10);
  struct Restore {
    int policy;
    sched_param param;
    ~Restore() { ::sched_setscheduler(0, policy, &param); }
  } restore{old_policy, old_param};
  std::thread pusher([this] { push_loop(); });
  struct Joiner {
    PageServer *s;
    std::thread &t;
    ~Joiner() {
      s->stop_ = true;
      // The pusher may sit in a send the target no longer reads: unblock it.
      {
        std::lock_guard lock(s->bulk_mu_);
        s->bulk_->shut_down();
      }
      t.join();
    }
  } joiner{this, pusher};
  for (;;) {
    {
      std::lock_guard lock(push_error_mu_);
      if (!push_error_.ok())
        return push_error_.error();
    }
    auto m = demand_->next(30000);
    if (!m.ok()) {
      if (!link_dropped(m.error()) || !cfg_.reconnect)
        return std::move(m).error();
      LMIG_WARN("demand connection lost (%s); dialling again", m.error().message.c_str());
      auto c = cfg_.reconnect(true);
      if (!c.ok())
        return std::move(c).error().context("after losing the demand connection (" +
                                            m.error().message + ")");
      demand_ = std::move(c).value();
      continue;
    }
    const wire::Type type = m->type;
    std::vector<uint8_t> payload(m->payload.begin(), m->payload.end());
    demand_->release(*m);
    switch (type) {
    case wire::Type::page_request: {
      LMIG_ASSIGN_OR_RETURN(auto req, wire::decode_page_request(payload));
      Status st = serve(req);
      if (!st.ok() && !(link_dropped(st.error()) && cfg_.reconnect))
        return std::move(st).error(); // (a lost answer is asked for again once back)
      break;
    }
    case wire::Type::running: {
      LMIG_ASSIGN_OR_RETURN(auto r, wire::decode_running(payload));
      if (!saw_running_) // said again after a reconnect
        on_running(r);
      saw_running_ = true;
      break;
    }
    case wire::Type::done:
      if (!saw_running_)
        return make_error(LMIG_ERR_PROTOCOL, "target finished before saying the process runs");
      return wire::decode_done(payload);
    case wire::Type::error: {
      LMIG_ASSIGN_OR_RETURN(auto em, wire::decode_error(payload));
      return wire::peer_error(em, Side::target);
    }
    default:
      return make_error(LMIG_ERR_PROTOCOL, std::string("target sent ") + wire::type_name(type) +
                                               " during post-copy");
    }
  }
}

} // namespace lmig

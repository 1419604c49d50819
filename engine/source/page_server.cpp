#include "engine/source/page_server.hpp"

#include <sys/socket.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "engine/base/log.hpp"

namespace lmig {
namespace {
constexpr uint64_t kPage = 4096;
}

PageServer::PageServer(Config cfg, Connection &demand, Connection &bulk)
    : cfg_(std::move(cfg)), demand_(demand), bulk_(bulk), demand_reader_(cfg_.pid),
      demand_buf_(wire::kMaxPagesPerFrame * kPage) {
  for (const auto &r : cfg_.runs) {
    run_first_.push_back(total_);
    total_ += r.npages;
  }
  sent_.reset(new std::atomic<uint8_t>[total_ ? total_ : 1]());
}

PageServer::~PageServer() = default;

int64_t PageServer::index(uint64_t addr) const {
  auto it = std::upper_bound(cfg_.runs.begin(), cfg_.runs.end(), addr,
                             [](uint64_t a, const PageRun &r) { return a < r.addr + r.npages * kPage; });
  if (it == cfg_.runs.end() || it->addr > addr)
    return -1;
  size_t r = static_cast<size_t>(it - cfg_.runs.begin());
  return static_cast<int64_t>(run_first_[r] + (addr - it->addr) / kPage);
}

bool PageServer::claim(uint64_t addr) {
  int64_t i = index(addr);
  if (i < 0)
    return false;
  return sent_[static_cast<size_t>(i)].exchange(1) == 0;
}

Status PageServer::send_pages(Connection &c, uint64_t addr, uint32_t n, bool retry,
                              std::vector<uint8_t> &buf, PageReader &reader) {
  size_t len = static_cast<size_t>(n) * kPage;
  LMIG_TRY(reader.read(addr, buf.data(), len));
  wire::PagesHeader h{addr, n, 0, XXH3_64bits(buf.data(), len)};
  uint64_t frame = ++frames_;
  if (cfg_.corrupt_every && !retry && frame % cfg_.corrupt_every == 0)
    buf[len / 2] ^= 0x5a; // test-only: damage this frame in transit; a retry is clean
  return c.send_pages(h, buf.data());
}

Status PageServer::serve(const wire::PageRequest &req) {
  // Reads past the process's pages would fail: clip to the run it lies in.
  int64_t i = index(req.addr);
  if (i < 0)
    return make_error(LMIG_ERR_PROTOCOL, "target asked for a page the source does not have");
  auto it = std::upper_bound(cfg_.runs.begin(), cfg_.runs.end(), req.addr,
                             [](uint64_t a, const PageRun &r) { return a < r.addr + r.npages * kPage; });
  uint64_t run_end = it->addr + it->npages * kPage;
  uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(req.npages, (run_end - req.addr) / kPage));
  for (uint32_t k = 0; k < n; k++)
    claim(req.addr + k * kPage);
  LMIG_TRY(send_pages(demand_, req.addr, n, req.flags & wire::kRequestRetry, demand_buf_,
                      demand_reader_));
  served_ += n;
  {
    std::lock_guard lock(hints_mu_);
    hints_.push_back(req.addr + n * kPage); // push what follows the fault next
    if (hints_.size() > 64)
      hints_.pop_front();
  }
  return {};
}

Status PageServer::push_range(uint64_t start, uint64_t end, std::vector<uint8_t> &buf,
                              PageReader &reader) {
  uint64_t a = start;
  while (a < end && !stop_) {
    if (!claim(a)) { // a fault fetched it already
      a += kPage;
      continue;
    }
    uint32_t n = 1;
    while (n < cfg_.push_run_pages && a + n * kPage < end && claim(a + n * kPage))
      n++;
    LMIG_TRY(send_pages(bulk_, a, n, false, buf, reader));
    pushed_ += n;
    a += n * kPage;
  }
  return {};
}

void PageServer::push_loop() {
  PageReader reader(cfg_.pid);
  std::vector<uint8_t> buf(cfg_.push_run_pages * kPage);
  auto run_range = [&](uint64_t from, uint64_t limit) -> Status {
    // [from, from + limit) clipped to the runs it crosses
    uint64_t to = from + limit;
    for (const auto &r : cfg_.runs) {
      uint64_t rs = r.addr, re = r.addr + r.npages * kPage;
      if (re <= from || rs >= to)
        continue;
      LMIG_TRY(push_range(std::max(rs, from), std::min(re, to), buf, reader));
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
      LMIG_TRY(run_range(h, 256 * kPage));
    }
  };
  Status st;
  // The live part of the stack first: it is touched right after resuming.
  if (cfg_.stack_hint) {
    for (const auto &r : cfg_.runs)
      if (cfg_.stack_hint >= r.addr && cfg_.stack_hint < r.addr + r.npages * kPage)
        st = push_range((cfg_.stack_hint & ~(kPage - 1)) - 16 * kPage > r.addr
                            ? (cfg_.stack_hint & ~(kPage - 1)) - 16 * kPage
                            : r.addr,
                        r.addr + r.npages * kPage, buf, reader);
  }
  for (const auto &r : cfg_.runs) {
    if (!st.ok() || stop_)
      break;
    uint64_t end = r.addr + r.npages * kPage;
    for (uint64_t a = r.addr; a < end && st.ok() && !stop_;) {
      st = take_hints();
      if (!st.ok())
        break;
      uint64_t chunk_end = std::min(end, a + 4 * cfg_.push_run_pages * kPage);
      st = push_range(a, chunk_end, buf, reader);
      a = chunk_end;
    }
  }
  if (st.ok() && !stop_)
    st = bulk_.send(wire::Type::pages_end);
  if (!st.ok() && !stop_) {
    std::lock_guard lock(push_error_mu_);
    push_error_ = std::move(st);
  }
}

Result<wire::Done> PageServer::run(
    const std::function<void(const wire::Running &)> &on_running) {
  std::thread pusher([this] { push_loop(); });
  struct Joiner {
    PageServer *s;
    std::thread &t;
    ~Joiner() {
      s->stop_ = true;
      // The pusher may sit in a send the target no longer reads: unblock it.
      ::shutdown(s->bulk_.fd(), SHUT_RDWR);
      t.join();
    }
  } joiner{this, pusher};
  std::vector<uint8_t> buf;
  for (;;) {
    {
      std::lock_guard lock(push_error_mu_);
      if (!push_error_.ok())
        return push_error_.error();
    }
    auto t = demand_.recv(buf);
    if (!t.ok())
      return std::move(t).error();
    switch (*t) {
    case wire::Type::page_request: {
      LMIG_ASSIGN_OR_RETURN(auto req, wire::decode_page_request(buf));
      LMIG_TRY(serve(req));
      break;
    }
    case wire::Type::running: {
      LMIG_ASSIGN_OR_RETURN(auto r, wire::decode_running(buf));
      saw_running_ = true;
      on_running(r);
      break;
    }
    case wire::Type::done:
      if (!saw_running_)
        return make_error(LMIG_ERR_PROTOCOL, "target finished before saying the process runs");
      return wire::decode_done(buf);
    case wire::Type::error: {
      LMIG_ASSIGN_OR_RETURN(auto em, wire::decode_error(buf));
      return wire::peer_error(em, Side::target);
    }
    default:
      return make_error(LMIG_ERR_PROTOCOL, std::string("target sent ") + wire::type_name(*t) +
                                               " during post-copy");
    }
  }
}

} // namespace lmig

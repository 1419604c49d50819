#include "engine/lazy/lazy_pager.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <xxhash.h>

#include <cstring>

#include "engine/base/clock.hpp"
#include "engine/base/log.hpp"
#include "engine/base/unique_fd.hpp"
#include "engine/lazy/process_end.hpp"

namespace lmig {
namespace {

constexpr uint64_t kPage = 4096;

std::string hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

} // namespace

LazyPager::LazyPager(Config cfg)
    : cfg_(std::move(cfg)), pages_(cfg_.regions), map_(cfg_.regions),
      demand_(std::move(cfg_.demand)), bulk_(std::move(cfg_.bulk)) {
  forked_.on_uffd = cfg_.keep_uffd;
}

Result<std::unique_ptr<LazyPager>> LazyPager::start(Config cfg) {
  std::unique_ptr<LazyPager> p(new LazyPager(std::move(cfg)));
  p->t_start_ = now_ns();
  p->thread_ = std::thread([raw = p.get()] {
    auto r = raw->loop();
    std::lock_guard lock(raw->mu_);
    raw->result_.emplace(std::move(r));
    raw->finished_ = true;
    raw->cv_.notify_all();
  });
  return p;
}

LazyPager::~LazyPager() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

std::optional<Error> LazyPager::failure() {
  std::lock_guard lock(mu_);
  if (finished_ && result_ && !result_->ok())
    return result_->error();
  return std::nullopt;
}

Result<wire::Done> LazyPager::wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return finished_; });
  return std::move(*result_);
}

Status LazyPager::send(wire::Type t, const std::vector<uint8_t> &payload) {
  if (t == wire::Type::running) {
    std::lock_guard lock(send_mu_);
    running_payload_ = payload;
  }
  LMIG_TRY(send_frame(t, payload));
  if (t == wire::Type::running)
    running_sent_ = true;
  return {};
}

Status LazyPager::send_frame(wire::Type t, const std::vector<uint8_t> &payload) {
  std::lock_guard lock(send_mu_);
  return demand_->send(t, payload);
}

Status LazyPager::request(uint64_t src, uint32_t npages, uint32_t flags) {
  for (uint32_t k = 0; k < npages; k++) {
    int64_t i = pages_.index(src + k * kPage);
    if (i >= 0 && (pages_.get(i) == LazyPages::kMissing || pages_.get(i) == LazyPages::kUnknown))
      pages_.set(i, LazyPages::kRequested);
  }
  if (demand_lost_at_)
    return {}; // asked again once the link is back
  requests_in_flight_++;
  Status st =
      send_frame(wire::Type::page_request, wire::encode(wire::PageRequest{src, npages, flags}));
  if (!st.ok() && st.error().code == LMIG_ERR_CONNECTION_LOST) {
    lost(true, st.error());
    return {};
  }
  return st;
}

void LazyPager::lost(bool demand, const Error &why) {
  uint64_t &at = demand ? demand_lost_at_ : bulk_lost_at_;
  if (at)
    return;
  at = now_ns();
  LMIG_WARN("%s: %s connection lost (%s); waiting up to %d ms for the source to reconnect",
            cfg_.peer.c_str(), demand ? "demand" : "bulk", why.message.c_str(),
            cfg_.reconnect_timeout_ms);
  if (demand)
    requests_in_flight_ = 0;
}

// Takes a re-established connection if one has arrived; gives up when the
// source has not come back in time.
Status LazyPager::reconnect() {
  uint64_t now = now_ns();
  // The source dials again when its side of a link broke, which this side
  // may not have noticed (an RDMA peer's disconnect can go unseen until the
  // next send): a new link for this session supersedes the old one. Looked
  // for every few milliseconds only: the fault path stays lean.
  if (cfg_.take_channel && now - superseded_checked_ > 2000000) {
    superseded_checked_ = now;
    if (!demand_lost_at_)
      if (auto c = cfg_.take_channel(true)) {
        lost(true, make_error(LMIG_ERR_CONNECTION_LOST, "the source dialled again"));
        superseding_demand_ = std::move(c);
      }
    if (!bulk_lost_at_)
      if (auto c = cfg_.take_channel(false)) {
        lost(false, make_error(LMIG_ERR_CONNECTION_LOST, "the source dialled again"));
        superseding_bulk_ = std::move(c);
      }
  }
  auto take = [&](bool demand) -> std::unique_ptr<Channel> {
    auto &held = demand ? superseding_demand_ : superseding_bulk_;
    if (held)
      return std::move(held);
    return cfg_.take_channel ? cfg_.take_channel(demand) : nullptr;
  };
  if (demand_lost_at_) {
    if (auto c = take(true)) {
      {
        std::lock_guard lock(send_mu_);
        demand_ = std::move(c);
      }
      demand_lost_at_ = 0;
      LMIG_INFO("%s: demand connection re-established", cfg_.peer.c_str());
      // The source may not have heard that the process runs before the link
      // dropped: say it again (it takes it once).
      if (running_sent_) {
        std::vector<uint8_t> again;
        {
          std::lock_guard lock(send_mu_);
          again = running_payload_;
        }
        LMIG_TRY(send_frame(wire::Type::running, again));
      }
      // Answers in flight on the old link are gone: ask again for what
      // blocked threads wait on; the rest is asked for as it is needed.
      pages_.forget_requests();
      forked_.forget_requests();
      for (const auto &w : waiting_)
        if (pages_.get(w.index) != LazyPages::kDone &&
            pages_.get(w.index) != LazyPages::kRequested)
          LMIG_TRY(request(pages_.address_of(w.index), 1, 0));
    } else if (ns_to_ms(now - demand_lost_at_) > cfg_.reconnect_timeout_ms) {
      return make_error(LMIG_ERR_CONNECTION_LOST,
                        "the source did not reconnect within " +
                            std::to_string(cfg_.reconnect_timeout_ms) + " ms");
    }
  }
  if (bulk_lost_at_) {
    if (auto c = take(false)) {
      held_.reset();
      bulk_ = std::move(c);
      bulk_done_ = false;
      bulk_lost_at_ = 0;
      LMIG_INFO("%s: bulk connection re-established", cfg_.peer.c_str());
    } else if (ns_to_ms(now - bulk_lost_at_) > cfg_.reconnect_timeout_ms) {
      return make_error(LMIG_ERR_CONNECTION_LOST,
                        "the source's push did not reconnect within " +
                            std::to_string(cfg_.reconnect_timeout_ms) + " ms");
    }
  }
  return {};
}

// Reads what the userfaultfd has: layout changes are applied at once (before
// any further write), faults are queued for process_faults.
Status LazyPager::drain_events(bool &progress) {
  uffd::Event ev[64];
  for (;;) {
    LMIG_ASSIGN_OR_RETURN(size_t n, uffd::read_events(cfg_.uffd, ev, 64));
    if (n == 0)
      return {};
    progress = true;
    uint64_t t = now_ns();
    for (size_t k = 0; k < n; k++) {
      const auto &e = ev[k];
      switch (e.kind) {
      case uffd::Event::fault:
        faults_.push_back({e.addr, t});
        break;
      case uffd::Event::remove:
      case uffd::Event::unmap:
        map_.drop(e.addr, e.end, [&](uint64_t src, uint64_t len) {
          for (uint64_t a = src; a < src + len; a += kPage) {
            int64_t i = pages_.index(a);
            if (i >= 0 && pages_.get(i) != LazyPages::kAbsent)
              pages_.set(i, LazyPages::kDone);
          }
        });
        // A thread may be waiting on a page that just went away: let it
        // fault again and see the range as it is now.
        (void)uffd::wake(cfg_.uffd, e.addr, e.end - e.addr);
        break;
      case uffd::Event::remap:
        map_.remap(e.addr, e.end, e.len);
        break;
      case uffd::Event::fork:
        // It lacks what the process lacks now; its fork waited for this read.
        forked_.add(UniqueFd(e.fd), pages_, map_);
        LMIG_INFO("%s: the process forked during post-copy (%zu children to serve)",
                  cfg_.peer.c_str(), forked_.size());
        break;
      case uffd::Event::other:
        break;
      }
    }
    if (n < 64)
      return {};
  }
}

Status LazyPager::handle_fault(uint64_t target, uint64_t t0, bool &defer) {
  defer = false;
  auto src = map_.to_source(target);
  int64_t i = src ? pages_.index(*src) : -1;
  LazyPages::State st = i >= 0 ? pages_.get(i) : LazyPages::kAbsent;
  if (st == LazyPages::kAbsent) {
    // The source never had this page (or the process dropped it): zero, no
    // round trip.
    auto o = uffd::zeropage(cfg_.uffd, target, kPage);
    if (o.err == EAGAIN) {
      defer = true;
      return {};
    }
    if (o.err == EEXIST)
      return uffd::wake(cfg_.uffd, target, kPage);
    if (o.err && o.err != ENOENT)
      return sys_error("UFFDIO_ZEROPAGE at " + hex(target), o.err);
    pages_zero_++;
    return {};
  }
  if (st == LazyPages::kDone)
    return uffd::wake(cfg_.uffd, target, kPage); // it arrived while the fault was queued
  waiting_.push_back({i, t0});
  set_urgency(true);
  if (st == LazyPages::kRequested)
    return {};
  if (st == LazyPages::kUnknown) // no inventory yet: only the source knows
    return request(*src, 1, 0);
  // Faults walking forward (each landing just past what the last one asked
  // for) get more and more of the following pages asked for with them.
  uint32_t around = 1;
  if (*src > last_fault_src_ && *src <= last_fault_end_ + 16 * kPage)
    streak_ = std::min<uint32_t>(streak_ + 1, 8);
  else
    streak_ = 0;
  if (streak_)
    around = std::min<uint32_t>(cfg_.max_fault_around, 1u << (streak_ + 1));
  last_fault_src_ = *src;
  last_fault_end_ = *src + around * kPage;
  // The faulting page goes alone, so its answer is as small and early as it
  // can be; what follows it (when faults walk forward) is a second request
  // answered right after.
  LMIG_TRY(request(*src, 1, 0));
  if (around > 1) {
    uint32_t n = pages_.run_of(*src + kPage, LazyPages::kMissing, around - 1);
    if (n)
      LMIG_TRY(request(*src + kPage, n, 0));
  }
  return {};
}

Status LazyPager::process_faults(bool &progress) {
  size_t k = 0;
  for (; k < faults_.size(); k++) {
    bool defer = false;
    LMIG_TRY(handle_fault(faults_[k].addr, faults_[k].t0, defer));
    if (defer)
      break; // the layout is changing: read events, then come back
    progress = true;
  }
  faults_.erase(faults_.begin(), faults_.begin() + static_cast<long>(k));
  return {};
}

// A thread blocked on a remote page is what the process feels: while one
// waits the pager runs ahead of background work (its own bulk installs, the
// bulk reader, the push), otherwise behind it.
void LazyPager::set_urgency(bool urgent) {
  int level = urgent ? 1 : 0;
  if (level == urgency_)
    return;
  urgency_ = level;
  // (Switching to a real-time class per fault was measured to cost more
  // than it gains: nice levels are enough.)
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), urgent ? -10 : 0);
}

void LazyPager::resolve_waiting(bool demand) {
  if (waiting_.empty())
    return;
  uint64_t t = now_ns();
  size_t out = 0;
  int64_t last = -1;
  for (size_t k = 0; k < waiting_.size(); k++) {
    if (pages_.get(waiting_[k].index) == LazyPages::kDone) {
      latency_.add(t - waiting_[k].t0);
      if (demand && waiting_[k].index != last)
        pages_demand_++; // a page a fault waited for, fetched for it
      last = waiting_[k].index;
    } else {
      waiting_[out++] = waiting_[k];
    }
  }
  size_t woken = waiting_.size() - out;
  waiting_.resize(out);
  if (waiting_.empty())
    set_urgency(false);
  if (woken)
    ::sched_yield(); // the thread just woken needs a CPU more than the pager does
}

bool LazyPager::waited_for(uint64_t src, uint32_t npages) const {
  for (const auto &w : waiting_) {
    uint64_t a = pages_.address_of(w.index);
    if (a >= src && a < src + static_cast<uint64_t>(npages) * kPage)
      return true;
  }
  return false;
}

// Installs the source's pages [src, src + npages) where they still belong,
// skipping any the process already has or dropped.
Status LazyPager::install(uint64_t src, const uint8_t *data, uint32_t npages, bool demand) {
  if (!forked_.empty())
    LMIG_TRY(forked_.install(src, data, npages));
  if (parent_gone_)
    return {};
  struct Piece {
    uint64_t src, tgt, len;
  };
  std::vector<Piece> pieces;
  uint32_t k = 0;
  while (k < npages) {
    uint64_t s = src + k * kPage;
    int64_t i = pages_.index(s);
    if (i < 0 || (pages_.get(i) != LazyPages::kMissing && pages_.get(i) != LazyPages::kRequested)) {
      k++;
      continue;
    }
    uint32_t run = pages_.wanted_run(s, npages - k);
    pieces.clear();
    map_.to_target(s, run * kPage, [&](uint64_t ps, uint64_t pt, uint64_t len) {
      pieces.push_back({ps, pt, len});
    });
    bool changed = false;
    for (const auto &p : pieces) {
      uint64_t done = 0;
      while (done < p.len) {
        auto o = uffd::copy(cfg_.uffd, p.tgt + done, data + (p.src - src) + done, p.len - done);
        done += o.done;
        if (o.err == 0)
          break;
        if (o.err == EEXIST) { // already there: leave it, go on after it
          done += kPage;
          continue;
        }
        if (o.err == ENOENT) // no VMA any more: the unmap event is on its way
          break;
        if (o.err == ESRCH) // the process has ended (or exec'd); its children go on
          return process_ended();
        if (o.err == EAGAIN) {
          bool unused = false;
          LMIG_TRY(drain_events(unused));
          changed = true;
          break;
        }
        return sys_error("UFFDIO_COPY " + std::to_string(p.len) + " bytes at " + hex(p.tgt),
                         o.err);
      }
      if (changed) {
        // Mark what went in; the rest is looked at again under the new layout.
        for (uint64_t a = p.src; a < p.src + done; a += kPage)
          if (int64_t j = pages_.index(a); j >= 0 && pages_.get(j) != LazyPages::kAbsent)
            pages_.set(j, LazyPages::kDone);
        break;
      }
    }
    if (changed)
      continue;
    for (uint32_t r = 0; r < run; r++)
      pages_.set(i + r, LazyPages::kDone);
    (demand ? demand_channel_pages_ : pages_pushed_) += run;
    k += run;
  }
  resolve_waiting(demand);
  return {};
}

Status LazyPager::checksum_failed(uint64_t src, uint32_t npages) {
  checksum_retries_++;
  int &n = retries_[src];
  if (++n >= 3)
    return make_error(LMIG_ERR_CHECKSUM, "pages at " + hex(src) + " failed their checksum " +
                                             std::to_string(n) + " times");
  LMIG_WARN("%s: checksum mismatch in %u pages at %s, asking again", cfg_.peer.c_str(), npages,
            hex(src).c_str());
  return request(src, npages, wire::kRequestRetry);
}

// A pages message of either channel: checked, then installed (or asked for
// again when damaged).
Status LazyPager::install_message(const InMessage &m, bool demand) {
  const auto &h = m.pages;
  if (h.npages == 0 || m.payload.size() != static_cast<size_t>(h.npages) * kPage ||
      h.addr % kPage)
    return make_error(LMIG_ERR_PROTOCOL, "malformed pages frame");
  if (!m.checksum_ok)
    return checksum_failed(h.addr, h.npages);
  return install(h.addr, m.payload.data(), h.npages, demand);
}

Status LazyPager::drain_demand(bool &progress) {
  for (;;) {
    if (demand_lost_at_)
      return {};
    auto got = demand_->poll();
    if (!got.ok()) {
      if (got.error().code != LMIG_ERR_CONNECTION_LOST)
        return std::move(got).error();
      lost(true, got.error());
      return {};
    }
    if (!*got)
      return {};
    const InMessage &m = **got;
    progress = true;
    Status st;
    if (m.type == wire::Type::error) {
      auto em = wire::decode_error(m.payload);
      st = em.ok() ? Status(wire::peer_error(*em, Side::source)) : Status(std::move(em).error());
    } else if (m.type != wire::Type::pages) {
      st = make_error(LMIG_ERR_PROTOCOL, std::string("source sent ") + wire::type_name(m.type) +
                                             " on the demand channel");
    } else {
      if (requests_in_flight_)
        requests_in_flight_--;
      st = install_message(m, true);
    }
    demand_->release(m);
    LMIG_TRY(st);
  }
}

Status LazyPager::install_pushed(bool &progress) {
  // One run at a time, so faults are looked at in between.
  if (bulk_done_ || bulk_lost_at_)
    return {};
  if (!held_) {
    auto got = bulk_->poll();
    if (!got.ok()) {
      if (got.error().code == LMIG_ERR_CONNECTION_LOST)
        lost(false, got.error());
      else
        return std::move(got).error();
      return {};
    }
    if (!*got)
      return {};
    held_ = std::move(*got);
    progress = true;
  }
  const InMessage &m = *held_;
  // A thread waits on its page: its demand answer comes first, unless this
  // run holds that page.
  if (!waiting_.empty() && m.type == wire::Type::pages && !waited_for(m.pages.addr, m.pages.npages))
    return {};
  Status st;
  if (m.type == wire::Type::pages_end)
    bulk_done_ = true;
  else if (m.type == wire::Type::inventory)
    st = take_inventory(m.payload);
  else if (m.type != wire::Type::pages)
    st = make_error(LMIG_ERR_PROTOCOL, std::string("source sent ") + wire::type_name(m.type) +
                                           " on the bulk channel");
  else
    st = install_message(m, false);
  bulk_->release(m);
  held_.reset();
  progress = true;
  return st;
}

Status LazyPager::take_inventory(std::span<const uint8_t> payload) {
  LMIG_ASSIGN_OR_RETURN(auto chunk, wire::decode_inventory(payload));
  if (pages_.inventory_known())
    return {}; // sent again on a re-established bulk link
  for (const auto &[addr, n] : chunk.runs) {
    pages_.add_inventory(addr, n);
    forked_.add_inventory(addr, n);
    inventory_.push_back({addr, n});
  }
  if (chunk.last) {
    pages_.inventory_complete();
    forked_.inventory_complete();
    LMIG_DEBUG("%s: inventory of %llu pages", cfg_.peer.c_str(),
               static_cast<unsigned long long>(pages_.inventory_pages()));
  }
  return {};
}

// After the push has ended, anything still missing is asked for directly.
Status LazyPager::sweep_missing() {
  if (!bulk_done_ || requests_in_flight_ >= 4)
    return {};
  if (pages_.remaining() == 0 || parent_gone_) {
    if (!forked_.empty())
      LMIG_TRY(forked_.ask_missing([this](uint64_t s, uint32_t n) { return request(s, n, 0); }));
    return {};
  }
  for (; sweep_run_ < inventory_.size(); sweep_run_++) {
    const auto &run = inventory_[sweep_run_];
    uint64_t end = run.addr + run.npages * kPage;
    for (uint64_t a = std::max(run.addr, sweep_cursor_); a < end; a += kPage) {
      int64_t i = pages_.index(a);
      if (i < 0 || pages_.get(i) != LazyPages::kMissing)
        continue;
      uint32_t n = pages_.run_of(a, LazyPages::kMissing,
                                 static_cast<uint32_t>(std::min<uint64_t>(256, (end - a) / kPage)));
      sweep_cursor_ = a + n * kPage;
      return request(a, std::max<uint32_t>(n, 1), 0);
    }
  }
  sweep_run_ = 0; // everything asked for once; go round again if needed
  sweep_cursor_ = 0;
  return {};
}

// userfaultfd installs small pages only: where the source had huge-page
// advice, the pages are gathered into huge pages again (MADV_COLLAPSE, run
// on the process's behalf). Needs Linux 6.1; a range that cannot be
// collapsed (pages missing, no memory) stays small, which only costs speed.
void LazyPager::collapse_huge() {
  if (cfg_.huge_ranges.empty())
    return;
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, cfg_.pid, 0)));
  if (!pidfd)
    return;
  constexpr int kMadvCollapse = 25;
  // Bounded: the source waits for our Done meanwhile.
  const uint64_t deadline = now_ns() + 2000000000ull;
  size_t collapsed = 0;
  for (const auto &r : cfg_.huge_ranges) {
    if (now_ns() > deadline)
      break;
    iovec iov{reinterpret_cast<void *>(r.start), r.end - r.start};
    if (::syscall(SYS_process_madvise, pidfd.get(), &iov, 1, kMadvCollapse, 0) >= 0)
      collapsed++;
  }
  LMIG_DEBUG("%s: %zu of %zu huge-page ranges collapsed", cfg_.peer.c_str(), collapsed,
             cfg_.huge_ranges.size());
}

Result<wire::Done> LazyPager::finish(uint32_t reason) {
  if (reason == wire::kDoneAllPages)
    collapse_huge();
  wire::Done d;
  d.reason = reason;
  d.exit_status = exit_status_;
  d.pages_demand = pages_demand_;
  d.pages_prefetched = demand_channel_pages_ - std::min(demand_channel_pages_, pages_demand_);
  d.pages_pushed = pages_pushed_;
  d.pages_zero = pages_zero_;
  d.checksum_retries = checksum_retries_;
  d.faults = latency_.count();
  d.fault_p50_us = latency_.percentile_us(50);
  d.fault_p99_us = latency_.percentile_us(99);
  d.fault_max_us = latency_.max_us();
  for (int b = 0; b < wire::kHistogramBuckets; b++)
    d.histogram[b] = latency_.buckets()[b];
  d.postcopy_ns = now_ns() - t_start_;
  if (cfg_.before_done)
    LMIG_TRY(cfg_.before_done());
  const auto payload = wire::encode(d);
  LMIG_TRY(send_frame(wire::Type::done, payload));
  confirm_done(payload);
  return d;
}

// The source drops its copy when it hears `done`, and says so. A link that
// drops before that is waited for, and `done` said again on the new one, so
// the source is not left wondering with a stopped copy.
void LazyPager::confirm_done(const std::vector<uint8_t> &payload) {
  const uint64_t deadline =
      now_ns() + static_cast<uint64_t>(cfg_.reconnect_timeout_ms) * 1000000ull;
  while (now_ns() < deadline && !stop_) {
    if (demand_lost_at_) {
      auto c = cfg_.take_channel ? cfg_.take_channel(true) : nullptr;
      if (!c) {
        ::usleep(5000);
        continue;
      }
      {
        std::lock_guard lock(send_mu_);
        demand_ = std::move(c);
      }
      demand_lost_at_ = 0;
      if (!send_frame(wire::Type::done, payload).ok())
        continue;
    }
    auto m = demand_->next(50);
    if (!m.ok()) {
      if (m.error().code != LMIG_ERR_TIMEOUT)
        demand_lost_at_ = now_ns();
      continue;
    }
    bool acked = m->type == wire::Type::done;
    demand_->release(*m);
    if (acked)
      return; // the source copy is gone
  }
  LMIG_WARN("%s: no confirmation that the source copy is gone", cfg_.peer.c_str());
}

// Every page the source has is where it belongs: in the process (unless it
// ended) and in every child it forked meanwhile.
bool LazyPager::all_in() const {
  if (!pages_.inventory_known())
    return false;
  return (parent_gone_ || pages_.remaining() == 0) && forked_.remaining() == 0;
}

// The process ended, by a signal (an OOM kill, a kill -9) before its memory
// was all here: the migration failed, and the source must keep its copy. By
// an exit of its own: the pages it never touched are not needed, but
// children it forked meanwhile may still lack theirs. Its userfaultfd may
// say so (ESRCH) before its pidfd does; a process whose pidfd stays quiet
// exec'd, and runs on without its old memory.
Status LazyPager::process_ended() {
  if (parent_gone_)
    return {};
  pollfd p{pidfd_.get(), POLLIN, 0};
  if (::poll(&p, 1, 5000) == 1) {
    const ProcessEnd end = read_process_end(cfg_.pid, pidfd_.get(), oom_kills_before_);
    if (end.kind != ProcessEnd::exited)
      return make_error(LMIG_ERR_TARGET_FAILED, "the restored process " + end.describe() +
                                                    " with " +
                                                    std::to_string(pages_.remaining()) +
                                                    " of its pages still on the source");
    exit_status_ = end.code;
  }
  parent_gone_ = true;
  return {};
}

Result<wire::Done> LazyPager::loop() {
  pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, cfg_.pid, 0)));
  if (!pidfd_)
    return sys_error("pidfd_open " + std::to_string(cfg_.pid));
  oom_kills_before_ = oom_kills();
  uint64_t last_progress = now_ns();
  for (;;) {
    if (stop_)
      return make_error(LMIG_ERR_CANCELLED, "post-copy pager stopped");
    bool progress = false;
    // One poll tells which of the userfaultfd and the demand link have
    // something: no read or recv is spent on an empty one.
    pollfd ready{cfg_.uffd, POLLIN, 0};
    ::poll(&ready, 1, 0);
    if (ready.revents)
      LMIG_TRY(drain_events(progress));
    LMIG_TRY(process_faults(progress));
    if (!forked_.empty())
      LMIG_TRY(forked_.drain([this](uint64_t s, uint32_t n) { return request(s, n, 0); },
                             progress));
    LMIG_TRY(drain_demand(progress));
    LMIG_TRY(install_pushed(progress));
    LMIG_TRY(sweep_missing());
    LMIG_TRY(reconnect());
    if (all_in() && !demand_lost_at_) {
      if (running_sent_)
        return finish(parent_gone_ ? wire::kDoneProcessExited : wire::kDoneAllPages);
      progress = false; // every page is in before the source heard it runs: wait for that
    }
    uint64_t now = now_ns();
    if (progress) {
      last_progress = now;
      continue;
    }
    if (!waiting_.empty() && now - last_progress < cfg_.spin_ns)
      continue; // a thread is blocked on a remote page: stay hot for the answer
    // Sleep until something happens: arm the channels first (false: a
    // message is already there, go round again).
    bool armed = true;
    if (!demand_lost_at_) {
      auto a = demand_->arm();
      if (!a.ok() || !*a)
        armed = false;
    }
    if (!bulk_lost_at_ && !held_ && !bulk_done_) {
      auto a = bulk_->arm();
      if (!a.ok() || !*a)
        armed = false;
    }
    if (!armed)
      continue;
    std::vector<pollfd> &p = pollset_; // kept: no allocation on each sleep
    p = {{parent_gone_ ? -1 : cfg_.uffd, POLLIN, 0},
         {demand_lost_at_ ? -1 : demand_->event_fd(), POLLIN, 0},
         {bulk_lost_at_ || held_ || bulk_done_ ? -1 : bulk_->event_fd(), POLLIN, 0},
         {parent_gone_ ? -1 : pidfd_.get(), POLLIN, 0}};
    forked_.poll_fds(p);
    bool relinking = demand_lost_at_ || bulk_lost_at_;
    int r = ::poll(p.data(), p.size(), running_sent_ && !relinking ? 100 : 5);
    if (r < 0 && errno != EINTR)
      return sys_error("poll");
    if (p[3].revents && running_sent_) {
      LMIG_TRY(process_ended());
      LMIG_INFO("%s: the process ended with %llu pages still to come%s", cfg_.peer.c_str(),
                static_cast<unsigned long long>(pages_.remaining()),
                forked_.empty() ? "" : "; its children are still served");
      if (forked_.empty())
        return finish(wire::kDoneProcessExited);
    }
    if (!waiting_.empty() && !relinking &&
        ns_to_ms(now_ns() - last_progress) > cfg_.io_timeout_ms)
      return make_error(LMIG_ERR_TIMEOUT, "no page from " + cfg_.peer + " for " +
                                              std::to_string(cfg_.io_timeout_ms) +
                                              " ms while the process waits on one");
  }
}

} // namespace lmig

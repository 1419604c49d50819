// The target's lazy pager in post-copy. One thread owns the restored
// process's userfaultfd and makes every write through it, so that a layout
// event (munmap, mremap, MADV_DONTNEED) is always applied before the next
// page goes in: a page the process dropped is never written back by a late
// push. It
//   - answers a fault on a page the source never had with a zero page, no
//     round trip;
//   - turns other faults into requests on the demand channel (asking for the
//     following pages too when faults walk forward), and installs the
//     answers with UFFDIO_COPY, which wakes the faulting thread;
//   - installs the background push as it arrives (on TCP a FrameReader
//     receives and checks it on another thread; on RDMA it is already in a
//     registered slot), one ioctl per run, checking for faults between runs;
//   - re-requests pages whose checksum failed (three strikes fail loudly);
//   - serves the children the process forks meanwhile (ForkedChildren);
//   - when every page is in (or the process has ended) tells the source,
//     with the latencies it measured.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/lazy/address_map.hpp"
#include "engine/lazy/forked_children.hpp"
#include "engine/lazy/latency_histogram.hpp"
#include "engine/lazy/lazy_pages.hpp"
#include "engine/lazy/uffd.hpp"
#include "transport/channel.hpp"
#include "transport/wire.hpp"

namespace lmig {

class LazyPager {
public:
  struct Config {
    int uffd = -1;
    std::unique_ptr<Channel> demand; // requests out, answers in
    std::unique_ptr<Channel> bulk;   // the background push
    std::string peer;
    std::vector<AddressRange> regions; // the userfaultfd ranges; the inventory comes on `bulk`
    pid_t pid = -1;            // the restored process: its end ends the pager
    int io_timeout_ms = 30000;
    uint32_t max_fault_around = 256;
    // A dropped link: channels the source opens again arrive here (demand:
    // true for the demand channel; nullptr: none yet); given up after
    // reconnect_timeout_ms.
    std::function<std::unique_ptr<Channel>(bool demand)> take_channel;
    int reconnect_timeout_ms = 10000;
    uint64_t spin_ns = 200000; // busy-poll this long while a fault waits
    // MADV_HUGEPAGE ranges (2 MiB each) collapsed into huge pages once every
    // page is in, before the source hears so (best effort).
    std::vector<AddressRange> huge_ranges;
    // Every page is in (or the process ended): called before the source
    // hears so; an error fails the migration instead.
    std::function<Status()> before_done;
    // Each userfaultfd of a child the process forks, as it comes.
    std::function<void(int uffd)> keep_uffd;
  };

  static Result<std::unique_ptr<LazyPager>> start(Config cfg);
  ~LazyPager();
  // Blocks until the pager has finished: the Done it sent, or its error.
  Result<wire::Done> wait();
  // Its error if it has already failed (never blocks).
  std::optional<Error> failure();
  // Sends a frame on the demand connection, in turn with the pager's own.
  // The pager does not finish before `running` has gone out this way.
  Status send(wire::Type t, const std::vector<uint8_t> &payload);
  void stop() { stop_ = true; }


private:
  explicit LazyPager(Config cfg);
  Result<wire::Done> loop();
  Status drain_events(bool &progress);
  Status process_faults(bool &progress);
  Status handle_fault(uint64_t target, uint64_t t0, bool &defer);
  Status drain_demand(bool &progress);
  Status install_pushed(bool &progress);
  Status install_message(const InMessage &m, bool demand);
  Status install(uint64_t src, const uint8_t *data, uint32_t npages, bool demand);
  Status request(uint64_t src, uint32_t npages, uint32_t flags);
  Status checksum_failed(uint64_t src, uint32_t npages);
  Status sweep_missing();
  bool all_in() const;
  Status take_inventory(std::span<const uint8_t> payload);
  Status send_frame(wire::Type t, const std::vector<uint8_t> &payload);
  void resolve_waiting(bool demand);
  void set_urgency(bool urgent);
  bool waited_for(uint64_t src, uint32_t npages) const;
  Result<wire::Done> finish(uint32_t reason);
  Status process_ended();
  void collapse_huge();
  void confirm_done(const std::vector<uint8_t> &payload);
  void lost(bool demand, const Error &why);
  Status reconnect();

  Config cfg_;
  LazyPages pages_;
  AddressMap map_;
  ForkedChildren forked_;
  std::vector<pollfd> pollset_; // what the loop sleeps on
  bool parent_gone_ = false; // the process ended while children it forked still lack pages
  int exit_status_ = -1;     // the process exited by itself before its last page: its status
  UniqueFd pidfd_;           // the process's
  uint64_t oom_kills_before_ = 0;
  std::unique_ptr<Channel> demand_;
  std::unique_ptr<Channel> bulk_;
  std::optional<InMessage> held_; // a pushed run set aside while a fault waits
  // Links the source dialled again while ours still looked fine.
  std::unique_ptr<Channel> superseding_demand_, superseding_bulk_;
  uint64_t superseded_checked_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::mutex send_mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  std::optional<Result<wire::Done>> result_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_sent_{false};
  std::vector<uint8_t> running_payload_; // said again on a re-established link

  struct QueuedFault {
    uint64_t addr;
    uint64_t t0;
  };
  std::vector<QueuedFault> faults_;
  struct Waiting {
    int64_t index;
    uint64_t t0;
  };
  std::vector<Waiting> waiting_;
  std::unordered_map<uint64_t, int> retries_;
  uint64_t requests_in_flight_ = 0;
  bool bulk_done_ = false;
  size_t sweep_run_ = 0;
  uint64_t sweep_cursor_ = 0;
  std::vector<PageRun> inventory_;
  uint64_t last_fault_src_ = 0;
  uint64_t last_fault_end_ = 0; // end of what the last fault asked for
  uint32_t streak_ = 0;
  uint64_t t_start_ = 0;
  uint64_t demand_lost_at_ = 0, bulk_lost_at_ = 0;

  LatencyHistogram latency_;
  uint64_t pages_demand_ = 0, pages_pushed_ = 0, pages_zero_ = 0, checksum_retries_ = 0;
  uint64_t demand_channel_pages_ = 0;
  int urgency_ = -1; // the thread's current scheduling level (see set_urgency)
};

} // namespace lmig

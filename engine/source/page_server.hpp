// The source's page server in post-copy, serving the frozen process's memory
// until the target has every page:
//   - demand requests, on the control connection, are answered at once
//     (this thread), read straight from the frozen process;
//   - the background push, on the bulk connection, first inventories the
//     anonymous memory (which pages exist: a walk of the page tables kept out
//     of the downtime) and sends that list, then walks the pages in an order
//     that favours what the process touches first: the live part of its
//     stack, then the neighbourhood of each recent fault, then the rest in
//     address order; pages a fault already fetched are skipped.
// It ends when the target says done (every page is in, or the process has
// ended there).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <bitset>
#include <deque>
#include <unordered_map>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/base/process_memory.hpp"
#include "engine/image/image.hpp"
#include "transport/channel.hpp"
#include "transport/wire.hpp"

namespace lmig {

class PageServer {
public:
  struct Config {
    pid_t pid = -1;
    std::vector<VmaImage> regions; // the lazy (anonymous) memory, sorted
    uint64_t stack_hint = 0;   // the saved stack pointer: pushed first
    uint32_t push_run_pages = 16; // 64 KiB: a fault never waits long behind one
    uint64_t corrupt_every = 0; // test-only: damage every nth frame once
    bool corrupt_retries = false; // test-only: damage the frames sent again too
    uint32_t push_delay_ms = 0; // test-only: hold the push back this long
    uint64_t drop_bulk_after = 0; // test-only: break the bulk link once after n runs
    // A dropped link is dialled again through this (demand: true for the
    // demand channel), if set.
    std::function<Result<std::unique_ptr<Channel>>(bool demand)> reconnect;
  };
  PageServer(Config cfg, std::unique_ptr<Channel> demand, std::unique_ptr<Channel> bulk);
  ~PageServer();
  // Serves until the target's Done (returned) or an error. Serving starts
  // before the target says the process runs (finishing the restore may
  // already touch lazy pages); on_running is called when it does.
  Result<wire::Done> run(const std::function<void(const wire::Running &)> &on_running);
  bool saw_running() const { return saw_running_; }
  uint64_t pages_pushed() const { return pushed_; }
  uint64_t pages_served() const { return served_; }
  uint64_t inventory_pages() const { return inventory_pages_; }
  // The demand channel (after run(): to say the source copy is gone).
  Channel &demand() { return *demand_; }

private:
  const VmaImage *region_of(uint64_t addr) const;
  bool claim(uint64_t addr); // marks a page sent; false if it already was
  Status send_pages(Channel &c, uint64_t addr, uint32_t n, bool retry, PageReader &reader);
  Status serve(const wire::PageRequest &req);
  void push_loop();
  Status push_range(uint64_t start, uint64_t end, PageReader &reader);

  Status send_inventory();
  // Queues a pages frame on the bulk link (io_uring, batched), dialling it
  // again once if it broke.
  Status push_frame(uint64_t addr, uint32_t n, PageReader &reader);
  Status relink_bulk();
  std::mutex bulk_mu_; // guards replacing bulk_ against shutting it down
  uint64_t pushed_frames_ = 0;

  Config cfg_;
  std::unique_ptr<Channel> demand_;
  std::unique_ptr<Channel> bulk_;
  std::vector<PageRun> runs_; // the inventory, known to the push thread once taken
  std::atomic<uint64_t> inventory_pages_{0};
  // Pages already sent, by 2 MiB chunk (sparse: regions can be vast).
  std::mutex sent_mu_;
  std::unordered_map<uint64_t, std::bitset<512>> sent_;

  std::mutex hints_mu_;
  std::deque<uint64_t> hints_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> last_demand_ns_{0}; // when a demand request was last served
  std::atomic<uint64_t> frames_{0};
  std::atomic<uint64_t> pushed_{0}, served_{0};
  std::mutex push_error_mu_;
  Status push_error_;
  std::atomic<bool> saw_running_{false};
  PageReader demand_reader_;
};

} // namespace lmig

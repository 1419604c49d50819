#include "engine/source/page_streamer.hpp"

#include <xxhash.h>

namespace lmig {

PageStreamer::PageStreamer(pid_t pid, Connection &conn)
    : reader_(pid), conn_(conn), buf_(kStreamChunkPages * 4096) {}

Status PageStreamer::send_runs(const std::vector<PageRun> &runs,
                               const std::function<void(uint64_t)> &progress) {
  for (const auto &run : runs) {
    for (uint64_t done = 0; done < run.npages;) {
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kStreamChunkPages, run.npages - done));
      uint64_t addr = run.addr + done * 4096;
      size_t len = static_cast<size_t>(n) * 4096;
      LMIG_TRY(reader_.read(addr, buf_.data(), len));
      // A sealed connection's tag covers the pages (see wire::pages_intact).
      wire::PagesHeader h = conn_.crypto()
                                ? wire::PagesHeader{addr, n, wire::kPagesSealedNoChecksum, 0}
                                : wire::PagesHeader{addr, n, 0, XXH3_64bits(buf_.data(), len)};
      LMIG_TRY(conn_.send_pages(h, buf_.data()));
      done += n;
      pages_sent_ += n;
      bytes_sent_ += len + sizeof h;
      if (progress)
        progress(pages_sent_);
    }
  }
  return {};
}

} // namespace lmig

// Streams page runs from a frozen process to the target: read in large
// chunks, checksummed (xxh3-64), one pages frame per chunk.
#pragma once

#include <sys/types.h>

#include <functional>
#include <vector>

#include "engine/base/error.hpp"
#include "engine/base/process_memory.hpp"
#include "engine/image/image.hpp"
#include "transport/tcp_connection.hpp"

namespace lmig {

inline constexpr uint32_t kStreamChunkPages = 256; // 1 MiB

class PageStreamer {
public:
  PageStreamer(pid_t pid, Connection &conn);
  // Sends every page of `runs`; progress(pages_sent_so_far) after each chunk.
  Status send_runs(const std::vector<PageRun> &runs,
                   const std::function<void(uint64_t)> &progress = {});
  uint64_t pages_sent() const { return pages_sent_; }
  uint64_t bytes_sent() const { return bytes_sent_; }

private:
  PageReader reader_;
  Connection &conn_;
  std::vector<uint8_t> buf_;
  uint64_t pages_sent_ = 0;
  uint64_t bytes_sent_ = 0;
};

} // namespace lmig

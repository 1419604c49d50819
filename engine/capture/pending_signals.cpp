#include "engine/capture/pending_signals.hpp"

#include <sys/ptrace.h>

#include <cerrno>

namespace lmig {

Result<std::vector<SiginfoImage>> peek_pending_signals(pid_t tid, bool shared) {
  std::vector<SiginfoImage> out;
  constexpr uint32_t kBatch = 32;
  SiginfoImage buf[kBatch];
  for (;;) {
    __ptrace_peeksiginfo_args args{};
    args.off = out.size();
    args.flags = shared ? static_cast<uint32_t>(PTRACE_PEEKSIGINFO_SHARED) : 0u;
    args.nr = static_cast<int32_t>(kBatch);
    long n = ::ptrace(PTRACE_PEEKSIGINFO, tid, &args, buf);
    if (n < 0)
      return sys_error(std::string("PTRACE_PEEKSIGINFO") + (shared ? " (shared)" : "") +
                       " of " + std::to_string(tid));
    for (long i = 0; i < n; i++)
      out.push_back(buf[i]);
    if (n < static_cast<long>(kBatch))
      break;
    if (out.size() > kMaxQueuedSignals)
      return make_error(LMIG_ERR_UNSUPPORTED,
                        "more than " + std::to_string(kMaxQueuedSignals) +
                            " signals queued; that is not supported yet");
  }
  return out;
}

} // namespace lmig

/* Threads waiting in poll() and in epoll_wait() with no timeout go on
 * waiting across the move (the freeze must not show as EINTR, which
 * programs like `tail -f` treat as fatal) and see the bytes written after
 * it. */
#include "facet_threads.h"

FW_WORKERS_FACET(FW_POLL, FW_EPOLL)

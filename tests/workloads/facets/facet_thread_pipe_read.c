/* A thread blocked in read() on a pipe gets the bytes written after the move. */
#include "facet_threads.h"

FW_WORKERS_FACET(FW_PIPE)

/* A thread blocked on a condition variable (FUTEX_WAIT) still wakes when signalled. */
#include "facet_threads.h"

FW_WORKERS_FACET(FW_FUTEX)

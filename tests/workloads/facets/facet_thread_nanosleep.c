/* A thread asleep in nanosleep wakes neither early nor much late. */
#include "facet_threads.h"

FW_WORKERS_FACET(FW_SLEEPER)

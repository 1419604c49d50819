/* Four threads busy in different ways (asleep in nanosleep, blocked on a futex, blocked reading a pipe, computing with AVX-512 or AVX2) all carry on with their TIDs. */
#include "facet_threads.h"

FW_WORKERS_FACET(FW_SLEEPER, FW_FUTEX, FW_PIPE, FW_SIMD)

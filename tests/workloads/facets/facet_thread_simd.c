/* A thread computing with every vector register (AVX-512 or AVX2) keeps their contents through the move. */
#include "facet_threads.h"

FW_WORKERS_FACET(FW_SIMD)

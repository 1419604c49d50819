/* A datagram socketpair keeps its queued messages and their boundaries. */
#define FACET_SOCK_TYPE SOCK_DGRAM
#include "facet_unix_msgs.h"

/*
 * lmig — live migration of Linux processes.
 *
 * The stable C API of liblmig. Everything a scheduler needs to move a
 * running process to another host (lmig_migrate) or to receive processes
 * (lmig_server_*). No C++ types cross this header; every struct that the
 * caller fills starts with a `size` field so that later versions can grow
 * them without breaking binaries built against this one.
 */
#ifndef LMIG_LMIG_H
#define LMIG_LMIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LMIG_API_VERSION 1

#if defined(__GNUC__)
#define LMIG_EXPORT __attribute__((visibility("default")))
#else
#define LMIG_EXPORT
#endif

/* Result of every call. 0 is success; lmig_status_name() names the others. */
typedef enum lmig_status {
  LMIG_OK = 0,
  LMIG_ERR_INVALID_ARGUMENT = 1, /* bad options, address or PID syntax */
  LMIG_ERR_NO_SUCH_PROCESS = 2,  /* the PID does not exist */
  LMIG_ERR_NOT_MIGRATABLE = 3,   /* a kernel thread, lmig itself, init, a zombie ... */
  LMIG_ERR_UNSUPPORTED = 4,      /* the process holds something lmig cannot move yet */
  LMIG_ERR_SYSTEM = 5,           /* a system call failed (see sys_errno) */
  LMIG_ERR_CONNECT = 6,          /* the peer could not be reached */
  LMIG_ERR_PROTOCOL = 7,         /* the peer sent something malformed or unexpected */
  LMIG_ERR_CONNECTION_LOST = 8,  /* the peer closed or the link dropped mid-stream */
  LMIG_ERR_TARGET_FAILED = 9,    /* the target could not restore the process */
  LMIG_ERR_INCOMPATIBLE = 10,    /* versions, CPU features or kernel layout do not match */
  LMIG_ERR_CHECKSUM = 11,        /* page data kept failing its checksum */
  LMIG_ERR_TIMEOUT = 12,         /* a bounded wait ran out */
  LMIG_ERR_IMAGE = 13,           /* an image could not be decoded */
  LMIG_ERR_CANCELLED = 14,       /* stopped on request */
  LMIG_ERR_INTERNAL = 15         /* a bug: please report */
} lmig_status;

/* Where an error happened. */
typedef enum lmig_side { LMIG_SIDE_LOCAL = 0, LMIG_SIDE_SOURCE = 1, LMIG_SIDE_TARGET = 2 } lmig_side;

/* Filled by calls that fail. Plain storage: no need to free it. */
typedef struct lmig_error {
  uint32_t size;        /* set to sizeof(lmig_error) before the call */
  lmig_status code;
  int sys_errno;        /* errno behind the failure, or 0 */
  lmig_side side;
  char message[1024];   /* one line, NUL-terminated, names what failed and why */
} lmig_error;

typedef enum lmig_mode {
  LMIG_MODE_STOP_COPY = 1, /* every page moves while the process is frozen */
  LMIG_MODE_POSTCOPY = 2   /* resume at once on the target, pages follow lazily */
} lmig_mode;

/* What carries a post-copy migration's pages. The control exchange (hello,
 * image, switchover) is always TCP on HOST:PORT; with RDMA the demand and
 * push channels are RDMA links set up through rdma_cm on the same HOST:PORT. */
typedef enum lmig_transport {
  LMIG_TRANSPORT_TCP = 0,
  LMIG_TRANSPORT_RDMA = 1, /* fail if either end has no usable RDMA device */
  LMIG_TRANSPORT_AUTO = 2  /* RDMA when both ends have it, else TCP */
} lmig_transport;

/* Progress of a running migration, reported through the callback. */
typedef enum lmig_phase {
  LMIG_PHASE_FREEZE = 1,
  LMIG_PHASE_CAPTURE = 2,
  LMIG_PHASE_TRANSFER = 3,
  LMIG_PHASE_RESTORE = 4,
  LMIG_PHASE_RUNNING = 5, /* the target process runs: downtime is over */
  LMIG_PHASE_DONE = 6
} lmig_phase;

typedef void (*lmig_progress_fn)(void *user, lmig_phase phase, uint64_t pages_done,
                                 uint64_t pages_total);

typedef struct lmig_migrate_options {
  uint32_t size;               /* sizeof(lmig_migrate_options) */
  lmig_mode mode;
  const char *destination;     /* "HOST:PORT" of a listening lmigd */
  uint32_t connect_timeout_ms; /* 0: 5000 */
  uint32_t io_timeout_ms;      /* 0: 30000; a silent peer fails after this */
  const char *auth_token;      /* no longer supported (it crossed the wire in clear): must be
                                  NULL or empty; use psk_file or psk */
  lmig_progress_fn progress;   /* optional */
  void *progress_user;
  uint32_t reconnect_timeout_ms; /* post-copy: how long to re-dial a dropped link; 0: 10000 */
  lmig_transport transport;      /* post-copy channels; default TCP */
  /* Trust (see README, "Security"). The target must prove the pre-shared
   * key, read from psk_file (mode 0600, owned by the caller) or given in
   * memory (psk, psk_len >= 16). Without one, only a loopback destination
   * is taken without certificates (below), unless insecure is nonzero (then
   * the target is not authenticated; the frames are still encrypted). */
  const char *psk_file;
  const void *psk;
  size_t psk_len;
  int insecure;
  /* Certificates (X.509; see README, "Security"): this side's certificate
   * (PEM, any intermediates after it), its private key (PEM, unencrypted; a
   * key file must be mode 0600) and the CA the peer's certificate must chain
   * to, each as a path or as PEM text in memory (a *_pem field wins over its
   * *_file). All three or none; with them the peer must show a certificate
   * that CA signed (as well as the pre-shared key, when one is given). */
  const char *cert_file;
  const char *key_file;
  const char *ca_file;
  const char *cert_pem;
  const char *key_pem;
  const char *ca_pem;
  const char *peer_name; /* the DNS name or IP address the target's certificate must carry;
                           NULL or empty: the destination's host */
} lmig_migrate_options;

#define LMIG_LATENCY_BUCKETS 24

/* Figures of one migration. Times in milliseconds unless named otherwise. */
typedef struct lmig_stats {
  uint32_t size;         /* sizeof(lmig_stats) */
  lmig_mode mode;
  pid_t source_pid;
  pid_t target_pid;      /* as seen in the target lmigd's PID namespace */
  pid_t target_vpid;     /* as the process itself sees it (its original PID) */
  double downtime_ms;    /* freeze start until the target process runs */
  double total_ms;       /* freeze start until the source is released */
  double freeze_ms;
  double capture_ms;
  double restore_ms;     /* image sent until the target reported it runs */
  double postcopy_ms;    /* switchover until the last page (post-copy) */
  uint64_t pages_total;  /* pages the source had */
  uint64_t pages_sent;   /* pages that crossed the wire */
  uint64_t pages_demand; /* post-copy: pages a fault waited for, fetched on demand */
  uint64_t pages_pushed; /* post-copy: pages pushed in the background */
  uint64_t pages_zero;   /* post-copy: faults answered with a zero page */
  uint64_t bytes;        /* payload bytes on the wire (image and pages) */
  uint64_t image_bytes;
  uint64_t checksum_retries;
  double fault_p50_us;
  double fault_p99_us;
  double fault_max_us;
  uint64_t fault_histogram[LMIG_LATENCY_BUCKETS]; /* bucket i: [2^i, 2^(i+1)) us */
  uint64_t pages_prefetched; /* post-copy: pages fetched along with a faulting one */
  lmig_transport transport;  /* what carried the post-copy channels (TCP or RDMA) */
  int32_t exit_status;       /* post-copy: the process exited by itself on the target before
                                its last page arrived (it needed no more): its exit status;
                                -1 when it was still running at the end */
} lmig_stats;

/* Moves process `pid` to opts->destination. On LMIG_OK the process runs on
 * the target and the source process is gone. On failure before the
 * switchover the source process keeps running exactly as before. `stats`
 * and `err` may be NULL. */
LMIG_EXPORT lmig_status lmig_migrate(pid_t pid, const lmig_migrate_options *opts, lmig_stats *stats,
                         lmig_error *err);

/* Checks, without touching the process, whether lmig could migrate it.
 * LMIG_OK, or an error naming the first thing that stops it. */
LMIG_EXPORT lmig_status lmig_check(pid_t pid, lmig_error *err);

/* The same over the whole tree, without stopping at the first: `blocker`
 * is called once for each thing that stops the migration (a member, an fd,
 * a mapping, ...), its message naming the PID and fd. LMIG_OK when there is
 * none; else the code of the first (also in `err`). */
typedef void (*lmig_blocker_fn)(void *user, const lmig_error *blocker);
LMIG_EXPORT lmig_status lmig_check_each(pid_t pid, lmig_blocker_fn blocker, void *user,
                                        lmig_error *err);

/* ---- target side -------------------------------------------------------- */

typedef struct lmig_server lmig_server;

typedef enum lmig_log_level {
  LMIG_LOG_DEBUG = 0,
  LMIG_LOG_INFO = 1,
  LMIG_LOG_WARN = 2,
  LMIG_LOG_ERROR = 3
} lmig_log_level;

typedef void (*lmig_log_fn)(void *user, lmig_log_level level, const char *line);

typedef struct lmig_server_options {
  uint32_t size;             /* sizeof(lmig_server_options) */
  const char *listen;        /* "HOST:PORT"; port 0 picks a free one */
  int once;                  /* nonzero: return from lmig_server_run after one migration
                                (one whose hello was accepted: refused connections do not count) */
  const char *auth_token;    /* no longer supported: must be NULL or empty; use psk_file */
  uint32_t io_timeout_ms;    /* 0: 30000 */
  lmig_log_fn log;           /* optional: one line per event */
  void *log_user;
  lmig_log_level log_level;
  uint32_t reconnect_timeout_ms; /* post-copy: how long to wait for a dropped source; 0: 10000 */
  lmig_transport transport;      /* TCP: none; RDMA: also listen with rdma_cm (fail
                                    without a device); AUTO: when a device is there */
  /* Trust: sources must prove the pre-shared key (psk_file, mode 0600, or
   * psk/psk_len in memory). Without one, or certificates (below), only a
   * loopback address is served,
   * unless insecure is nonzero. */
  const char *psk_file;
  const void *psk;
  size_t psk_len;
  int insecure;
  /* Certificates (X.509; see README, "Security"): this side's certificate
   * (PEM, any intermediates after it), its private key (PEM, unencrypted; a
   * key file must be mode 0600) and the CA the peer's certificate must chain
   * to, each as a path or as PEM text in memory (a *_pem field wins over its
   * *_file). All three or none; with them the peer must show a certificate
   * that CA signed (as well as the pre-shared key, when one is given). */
  const char *cert_file;
  const char *key_file;
  const char *ca_file;
  const char *cert_pem;
  const char *key_pem;
  const char *ca_pem;
  /* cgroup placement (v2): a restored process joins its source's cgroup
   * path under this directory (e.g. "/sys/fs/cgroup/migrated"), before its
   * memory is made, made first if missing when cgroup_create is nonzero
   * (else its absence fails the restore; the source resumes). NULL or
   * empty: restored processes stay in lmigd's cgroup. Limits of the
   * directories are the operator's. */
  const char *cgroup_root;
  int cgroup_create;
} lmig_server_options;

LMIG_EXPORT lmig_status lmig_server_create(const lmig_server_options *opts, lmig_server **out,
                               lmig_error *err);
/* The port actually bound (useful with port 0). */
LMIG_EXPORT uint16_t lmig_server_port(const lmig_server *server);
/* Serves until lmig_server_stop() or, with `once`, one migration. Returns
 * LMIG_OK, or with `once` the status of that migration. */
LMIG_EXPORT lmig_status lmig_server_run(lmig_server *server, lmig_error *err);
/* Asks a running server to return. Async-signal-safe. */
LMIG_EXPORT void lmig_server_stop(lmig_server *server);
LMIG_EXPORT void lmig_server_destroy(lmig_server *server);

/* ---- helpers ------------------------------------------------------------ */

LMIG_EXPORT const char *lmig_status_name(lmig_status status);
LMIG_EXPORT const char *lmig_version(void);
/* Writes stats as one JSON object (no newline) into buf; returns the length
 * it needs, like snprintf. */
LMIG_EXPORT size_t lmig_stats_to_json(const lmig_stats *stats, char *buf, size_t buflen);

#ifdef __cplusplus
}
#endif

#endif /* LMIG_LMIG_H */

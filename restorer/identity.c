#include "restorer/identity.h"

#include "restorer/sys.h"

#define NR_setgroups 116
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_setfsuid 122
#define NR_setfsgid 123
#define NR_capget 125
#define NR_capset 126
#define NR_seccomp 317

#define R_PR_SET_PDEATHSIG 1
#define R_PR_SET_DUMPABLE 4
#define R_PR_CAPBSET_DROP 24
#define R_PR_SET_SECUREBITS 28
#define R_PR_CAP_AMBIENT 47
#define R_PR_CAP_AMBIENT_RAISE 2
#define R_SECBIT_KEEP_CAPS (1u << 4)
#define R_CAP_VERSION_3 0x20080522u
#define R_SECCOMP_SET_MODE_STRICT 0
#define R_SECCOMP_SET_MODE_FILTER 1

#define AT(a, off, type) ((type)((const char *)(a) + (off)))

struct cap_header {
  uint32_t version;
  int pid;
};
struct cap_data {
  uint32_t effective, permitted, inheritable;
};

static long capset3(uint64_t eff, uint64_t prm, uint64_t inh) {
  struct cap_header h = {R_CAP_VERSION_3, 0};
  struct cap_data d[2] = {{(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
                          {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)}};
  return rsys2(NR_capset, &h, d);
}

static long permitted_now(uint64_t *prm) {
  struct cap_header h = {R_CAP_VERSION_3, 0};
  struct cap_data d[2];
  long r = rsys2(NR_capget, &h, d);
  if (r < 0)
    return r;
  *prm = (uint64_t)d[0].permitted | ((uint64_t)d[1].permitted << 32);
  return 0;
}

#define FAIL_IF(cond_r, st, which)                                                                 \
  do {                                                                                             \
    long r_ = (cond_r);                                                                            \
    if (r_ < 0) {                                                                                  \
      *step = (st);                                                                                \
      *arg = (which);                                                                              \
      return r_;                                                                                   \
    }                                                                                              \
  } while (0)

long lmig_restore_creds(const struct lmig_rst_args *a, uint32_t *step, uint64_t *arg) {
  const struct lmig_rst_creds *c = &a->creds;
  uint64_t known = c->cap_last >= 63 ? ~0ull : (1ull << (c->cap_last + 1)) - 1;
  uint64_t full = 0;
  FAIL_IF(permitted_now(&full), LMIG_RST_STEP_CAPS, LMIG_RST_CREDS_CAPSET);
  uint64_t inh = c->cap_inh & known;
  /* Everything we hold, effective, and the saved inheritable set, while
   * CAP_SETPCAP still allows raising it. */
  FAIL_IF(capset3(full, full, inh), LMIG_RST_STEP_CAPS, LMIG_RST_CREDS_CAPSET);
  for (uint32_t cap = 0; cap <= c->cap_last && cap < 64; cap++)
    if (!(c->cap_bnd & (1ull << cap)))
      FAIL_IF(rsys2(NR_prctl, R_PR_CAPBSET_DROP, cap), LMIG_RST_STEP_CAPS,
              LMIG_RST_CREDS_BOUNDING);
  /* Keep the permitted set across the change of uid. */
  FAIL_IF(rsys2(NR_prctl, R_PR_SET_SECUREBITS, R_SECBIT_KEEP_CAPS), LMIG_RST_STEP_CREDS,
          LMIG_RST_CREDS_KEEPCAPS);
  FAIL_IF(rsys2(NR_setgroups, c->ngroups, AT(a, c->groups_off, const uint32_t *)),
          LMIG_RST_STEP_CREDS, LMIG_RST_CREDS_SETGROUPS);
  FAIL_IF(rsys3(NR_setresgid, c->gid[0], c->gid[1], c->gid[2]), LMIG_RST_STEP_CREDS,
          LMIG_RST_CREDS_SETRESGID);
  rsys1(NR_setfsgid, c->gid[3]);
  if ((uint32_t)rsys1(NR_setfsgid, -1) != c->gid[3])
    FAIL_IF(-1, LMIG_RST_STEP_CREDS, LMIG_RST_CREDS_SETFSGID);
  FAIL_IF(rsys3(NR_setresuid, c->uid[0], c->uid[1], c->uid[2]), LMIG_RST_STEP_CREDS,
          LMIG_RST_CREDS_SETRESUID);
  /* Leaving uid 0 cleared the effective set: back, for setfsuid and the
   * securebits. */
  FAIL_IF(capset3(full, full, inh), LMIG_RST_STEP_CAPS, LMIG_RST_CREDS_CAPSET);
  rsys1(NR_setfsuid, c->uid[3]);
  if ((uint32_t)rsys1(NR_setfsuid, -1) != c->uid[3])
    FAIL_IF(-1, LMIG_RST_STEP_CREDS, LMIG_RST_CREDS_SETFSUID);
  /* Ambient capabilities must be permitted and inheritable: raised while
   * everything is permitted, before the securebits may forbid it. */
  for (uint32_t cap = 0; cap <= c->cap_last && cap < 64; cap++)
    if (c->cap_amb & (1ull << cap))
      FAIL_IF(rsys5(NR_prctl, R_PR_CAP_AMBIENT, R_PR_CAP_AMBIENT_RAISE, cap, 0, 0),
              LMIG_RST_STEP_CAPS, LMIG_RST_CREDS_AMBIENT);
  FAIL_IF(rsys2(NR_prctl, R_PR_SET_SECUREBITS, c->securebits), LMIG_RST_STEP_CREDS,
          LMIG_RST_CREDS_SECUREBITS);
  FAIL_IF(capset3(c->cap_eff & known, c->cap_prm & known, inh), LMIG_RST_STEP_CAPS,
          LMIG_RST_CREDS_CAPSET);
  return 0;
}

long lmig_restore_cred_dependent(const struct lmig_rst_args *a, const struct lmig_rst_thread *t,
                                 uint32_t *step, uint64_t *arg) {
  FAIL_IF(rsys2(NR_prctl, R_PR_SET_PDEATHSIG, t->pdeath_signal), LMIG_RST_STEP_PDEATHSIG,
          (uint64_t)t->pdeath_signal);
  if (a->proc.dumpable >= 0)
    FAIL_IF(rsys2(NR_prctl, R_PR_SET_DUMPABLE, a->proc.dumpable), LMIG_RST_STEP_DUMPABLE,
            (uint64_t)a->proc.dumpable);
  return 0;
}

long lmig_restore_seccomp(const struct lmig_rst_args *a, const struct lmig_rst_thread *t,
                          uint32_t *step, uint64_t *arg) {
  if (t->seccomp_mode == 1) {
    FAIL_IF(rsys3(NR_seccomp, R_SECCOMP_SET_MODE_STRICT, 0, 0), LMIG_RST_STEP_SECCOMP, ~0ull);
    return 0;
  }
  if (t->seccomp_mode != 2)
    return 0;
  const struct lmig_rst_seccomp_filter *f =
      AT(a, t->seccomp_off, const struct lmig_rst_seccomp_filter *);
  for (uint32_t i = 0; i < t->nr_seccomp_filters; i++) {
    struct {
      uint16_t len;
      uint16_t pad[3];
      const void *filter;
    } prog = {(uint16_t)f[i].len, {0, 0, 0}, AT(a, f[i].insns_off, const void *)};
    FAIL_IF(rsys3(NR_seccomp, R_SECCOMP_SET_MODE_FILTER, f[i].flags, &prog),
            LMIG_RST_STEP_SECCOMP, i);
  }
  return 0;
}

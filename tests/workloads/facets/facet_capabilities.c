/* A root process that dropped capabilities keeps exactly its sets:
 * permitted without CAP_SYS_MODULE and CAP_SYS_RAWIO, effective also
 * without CAP_NET_RAW, inheritable {CAP_CHOWN, CAP_NET_BIND_SERVICE},
 * ambient {CAP_NET_BIND_SERVICE}, and a bounding set without CAP_SYS_BOOT
 * and CAP_SYS_MODULE. */
#include <linux/capability.h>
#include <sys/prctl.h>

#include "facet.h"

struct caps {
  uint64_t eff, prm, inh;
};

static int get_caps(struct caps *c) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0)
    return -1;
  c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
  c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
  c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
  return 0;
}

static int set_caps(const struct caps *c) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {
      {(uint32_t)c->eff, (uint32_t)c->prm, (uint32_t)c->inh},
      {(uint32_t)(c->eff >> 32), (uint32_t)(c->prm >> 32), (uint32_t)(c->inh >> 32)}};
  return (int)syscall(SYS_capset, &h, d);
}

#define BIT(c) (1ull << (c))
static struct caps want;
static uint64_t bounding; /* what it keeps of the bounding set it was given */

FACET_SETUP(dir) {
  (void)dir;
  struct caps now;
  if (get_caps(&now) < 0)
    return facet_fail("capget: %s", strerror(errno)), 1;
  for (int cap = 0; cap < 64; cap++) {
    int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in < 0)
      break;
    if (in && cap != CAP_SYS_BOOT && cap != CAP_SYS_MODULE)
      bounding |= BIT(cap);
  }
  if (prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0) < 0 ||
      prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE, 0, 0, 0) < 0)
    return facet_fail("PR_CAPBSET_DROP: %s", strerror(errno)), 1;
  want.prm = now.prm & ~(BIT(CAP_SYS_MODULE) | BIT(CAP_SYS_RAWIO));
  want.eff = want.prm & ~BIT(CAP_NET_RAW);
  want.inh = BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE);
  if (set_caps(&want) < 0)
    return facet_fail("capset: %s", strerror(errno)), 1;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) < 0)
    return facet_fail("ambient raise: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  struct caps c;
  if (get_caps(&c) < 0)
    return facet_fail("capget: %s", strerror(errno));
  if (c.eff != want.eff || c.prm != want.prm || c.inh != want.inh)
    return facet_fail("eff %llx prm %llx inh %llx, expected %llx %llx %llx",
                      (unsigned long long)c.eff, (unsigned long long)c.prm,
                      (unsigned long long)c.inh, (unsigned long long)want.eff,
                      (unsigned long long)want.prm, (unsigned long long)want.inh);
  for (int cap = 0; cap < 64; cap++) {
    int in_bnd = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in_bnd < 0 && errno == EINVAL)
      break; /* beyond what this kernel knows */
    int expect_bnd = (bounding & BIT(cap)) != 0;
    if (in_bnd != expect_bnd)
      return facet_fail("bounding set: capability %d is %d", cap, in_bnd);
    int amb = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);
    if (amb != (cap == CAP_NET_BIND_SERVICE))
      return facet_fail("ambient set: capability %d is %d", cap, amb);
  }
  if (getuid() != 0 || geteuid() != 0)
    return facet_fail("not root any more");
  return facet_pass();
}

/* ITIMER_VIRTUAL and ITIMER_PROF keep their interval and what was left of
 * them: CPU time only ever brings them closer. */
#include <sys/time.h>

#include "facet.h"
#include "facet_sigutil.h"

static int64_t last[2] = {40000 * MS, 50000 * MS};
static const int64_t first[2] = {40000 * MS, 50000 * MS};
static const long interval_s[2] = {3, 5};

FACET_SETUP(dir) {
  (void)dir;
  struct itimerval v = {{3, 0}, {40, 0}}, p = {{5, 0}, {50, 0}};
  if (setitimer(ITIMER_VIRTUAL, &v, NULL) < 0 || setitimer(ITIMER_PROF, &p, NULL) < 0)
    return facet_fail("setitimer: %s", strerror(errno)), 1;
  return 0;
}

FACET_CHECK(seq) {
  (void)seq;
  for (int i = 0; i < 2; i++) {
    struct itimerval v;
    getitimer(i == 0 ? ITIMER_VIRTUAL : ITIMER_PROF, &v);
    int64_t left = v.it_value.tv_sec * 1000 * MS + v.it_value.tv_usec * 1000ll;
    const char *name = i == 0 ? "ITIMER_VIRTUAL" : "ITIMER_PROF";
    if (v.it_interval.tv_sec != interval_s[i] || v.it_interval.tv_usec)
      return facet_fail("%s interval %ld.%06ld", name, (long)v.it_interval.tv_sec,
                        (long)v.it_interval.tv_usec);
    /* An idle process uses little CPU: well under 5 s. (The kernel rounds
     * up to its tick.) */
    if (left <= 0 || left > last[i] + 20 * MS || left < first[i] - 5000 * MS)
      return facet_fail("%s: %lld us left, last seen %lld us", name, (long long)(left / 1000),
                        (long long)(last[i] / 1000));
    if (left < last[i])
      last[i] = left;
  }
  return facet_pass();
}

/* Many real-time signals queued several times each, interleaved, keep every
 * instance, its value and their order; a standard signal sent twice while
 * blocked stays one. */
#include "facet.h"
#include "facet_sigutil.h"

#define N4 20
#define N5 5

FACET_SETUP(dir) {
  (void)dir;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN + 4);
  sigaddset(&set, SIGRTMIN + 5);
  sigaddset(&set, SIGRTMAX);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, NULL);
  for (int i = 0; i < N4; i++) {
    sigqueue(getpid(), SIGRTMIN + 4, (union sigval){.sival_int = 1000 + i});
    if (i % 4 == 0)
      sigqueue(getpid(), SIGRTMIN + 5, (union sigval){.sival_int = 2000 + i / 4});
  }
  sigqueue(getpid(), SIGRTMAX, (union sigval){.sival_ptr = (void *)0x7fffdeadbeefull});
  kill(getpid(), SIGINT);
  kill(getpid(), SIGINT);
  return 0;
}

static int take_all(int sig, siginfo_t *out, int max, int base) {
  int n = 0;
  while (n < max + 1 && facet_take(sig, &out[n]))
    n++;
  for (int i = 0; i < n; i++)
    if (out[i].si_code != SI_QUEUE || out[i].si_value.sival_int != base + i)
      return facet_fail("signal %d #%d: code %d value %d, want %d", sig, i, out[i].si_code,
                        out[i].si_value.sival_int, base + i),
             -1 - n;
  return n;
}

FACET_CHECK(seq) {
  (void)seq;
  siginfo_t a[N4 + 1], b[N5 + 1], c[2], d[2];
  int ok = 1;
  int na = take_all(SIGRTMIN + 4, a, N4, 1000);
  int nb = take_all(SIGRTMIN + 5, b, N5, 2000);
  int nc = 0, nd = 0;
  while (nc < 2 && facet_take(SIGRTMAX, &c[nc]))
    nc++;
  while (nd < 2 && facet_take(SIGINT, &d[nd]))
    nd++;
  if (na < 0 || nb < 0)
    ok = 0;
  else if (na != N4 || nb != N5 || nc != 1 || nd != 1)
    ok = facet_fail("queued %d, %d, %d, %d instances; want %d, %d, 1, 1", na, nb, nc, nd, N4, N5);
  else if (c[0].si_value.sival_ptr != (void *)0x7fffdeadbeefull || d[0].si_code != SI_USER)
    ok = facet_fail("SIGRTMAX value %p, SIGINT code %d", c[0].si_value.sival_ptr, d[0].si_code);
  na = na < 0 ? -1 - na : na;
  nb = nb < 0 ? -1 - nb : nb;
  for (int i = 0; i < na; i++)
    facet_requeue(&a[i], 0);
  for (int i = 0; i < nb; i++)
    facet_requeue(&b[i], 0);
  for (int i = 0; i < nc; i++)
    facet_requeue(&c[i], 0);
  for (int i = 0; i < nd; i++)
    facet_requeue(&d[i], 0);
  return ok ? facet_pass() : 0;
}

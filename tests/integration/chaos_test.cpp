// The promise under fire: migrations in both modes, each broken at a seeded
// random instant by one of: kill -9 of lmig, of its worker (after the
// switchover), of both, of lmigd, of the restored process, or a cut of
// every link (for longer than the reconnect timeout). After each, the invariant must hold: exactly one
// of "the source runs as before", "the target runs with every page", "the
// source is kept stopped and no target copy runs", and the copy that is
// left checks out whole. Never two running, never none. (When the link
// drops at the switchover itself, the source cannot know the outcome and
// keeps its copy stopped while the target may run: one runs, one is kept.)
//
// LMIG_CHAOS_RUNS (default 24) instants, from LMIG_CHAOS_SEED (default 1);
// scripts/chaos-long runs hundreds. Prints the table of outcomes.
#include <gtest/gtest.h>

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "tests/integration/harness.hpp"
#include "tests/integration/tcp_proxy.hpp"

namespace lmig::test {
namespace {

enum class Blow { kill_lmig, kill_worker, kill_both, kill_lmigd, kill_restored, cut_links };
const char *name(Blow b) {
  switch (b) {
  case Blow::kill_lmig: return "kill -9 lmig";
  case Blow::kill_worker: return "kill -9 worker";
  case Blow::kill_both: return "kill -9 lmig+worker";
  case Blow::kill_lmigd: return "kill -9 lmigd";
  case Blow::kill_restored: return "kill -9 restored";
  case Blow::cut_links: return "cut every link";
  }
  return "?";
}

uint64_t env_or(const char *k, uint64_t d) {
  const char *v = std::getenv(k);
  return v ? std::strtoull(v, nullptr, 10) : d;
}

pid_t running_target(const Lmigd &d) {
  const std::string log = d.log();
  const size_t at = log.rfind("runs here as PID ");
  return at == std::string::npos ? -1 : std::stoi(log.substr(at + 17));
}

struct Outcome {
  std::string outcome; // "source runs", "target runs", "source kept stopped", or a violation
  bool ok = false;
  std::string detail;
};

Outcome one(std::mt19937_64 &rng, bool postcopy, Blow blow, int delay_ms, bool slow_capture) {
  Outcome out;
  const int reconnect_ms = 800;
  auto d = std::make_unique<Lmigd>(
      std::vector<std::string>{"--reconnect-timeout", std::to_string(reconnect_ms)});
  TcpProxy proxy(d->port());
  Workload w({}, 24);
  const pid_t src = w.pid();
  Env env;
  if (postcopy)
    env.push_back({"LMIG_TEST_PUSH_DELAY_MS", std::to_string(300 + rng() % 500)});
  if (slow_capture)
    env.push_back({"LMIG_TEST_PAUSE_IN_SYSCALL_MS", "150"});
  Background m({bin("LMIG"), postcopy ? "--postcopy" : "--stop-copy", std::to_string(src),
                proxy.address(), "--reconnect-timeout", std::to_string(reconnect_ms)},
               env);
  const pid_t worker = migration_worker_of(m.pid(), std::chrono::milliseconds(500));
  // The worker itself is only struck after the switchover: killed in the
  // middle of a remote system call, nothing could give the thread its
  // registers back (lmig, its caller, may die at any instant).
  if (blow == Blow::kill_worker || blow == Blow::kill_both)
    d->wait_running(std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  pid_t target = running_target(*d);
  switch (blow) {
  case Blow::kill_lmig: ::kill(m.pid(), SIGKILL); break;
  case Blow::kill_worker: ::kill(worker, SIGKILL); break;
  case Blow::kill_both:
    ::kill(worker, SIGKILL);
    ::kill(m.pid(), SIGKILL);
    break;
  case Blow::kill_lmigd: d->kill9(); break;
  case Blow::kill_restored:
    if (target > 0)
      ::kill(target, SIGKILL);
    break;
  case Blow::cut_links:
    proxy.refuse(true);
    proxy.cut();
    break;
  }
  // Let every side finish what it does about it: lmig and its worker end,
  // lmigd gives a lost source its reconnect time and more.
  const CmdResult r = m.finish(std::chrono::seconds(30));
  wait_for([&] { return worker <= 0 || !alive(worker); }, std::chrono::seconds(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(reconnect_ms + 700));
  if (target <= 0)
    target = running_target(*d);
  std::unique_ptr<ProcessGuard> guard;
  if (target > 0)
    guard = std::make_unique<ProcessGuard>(target);
  const bool tgt = target > 0 && alive(target);
  const char st = proc_state(src);
  const bool src_alive = alive(src);
  out.detail = "lmig exit " + std::to_string(r.exit_code) + ": " + r.err.substr(0, 300);
  if (src_alive && tgt && st == 'T') {
    // The link dropped at the switchover itself: the source cannot know
    // whether the target runs, so it keeps its copy stopped; the target has
    // every page (stop-copy) and runs. One runs, one is kept: nothing lost,
    // and lmig said the outcome is unknown.
    std::string v = w.check(target, 1, std::chrono::seconds(20));
    out.outcome = "target runs, source kept stopped";
    out.ok = v.rfind("PASS", 0) == 0 && r.err.find("outcome unknown") != std::string::npos;
    if (!out.ok)
      out.outcome = "VIOLATION: target copy damaged or outcome not said (" + v + ")";
  } else if (src_alive && tgt) {
    out.outcome = "VIOLATION: two copies run";
  } else if (!src_alive && !tgt && blow == Blow::kill_restored && r.exit_code == 0) {
    // lmig said the move was complete (every page in) before the process
    // was killed there: that is the moved process's own end.
    out.outcome = "moved, then killed";
    out.ok = true;
  } else if (!src_alive && !tgt) {
    out.outcome = "VIOLATION: no copy left";
  } else if (tgt) {
    std::string v = w.check(target, 1, std::chrono::seconds(20));
    w.reap_source();
    out.outcome = "target runs";
    out.ok = v.rfind("PASS", 0) == 0;
    if (!out.ok)
      out.outcome = "VIOLATION: target copy damaged (" + v + ")";
  } else if (st == 'T') {
    ::kill(src, SIGCONT);
    std::string v = w.check(src, 1, std::chrono::seconds(20));
    out.outcome = "source kept stopped";
    out.ok = v.rfind("PASS", 0) == 0;
    if (!out.ok)
      out.outcome = "VIOLATION: stopped source damaged (" + v + ")";
  } else if (st == 't') {
    out.outcome = "VIOLATION: source still traced";
  } else {
    std::string v = w.check(src, 1, std::chrono::seconds(20));
    out.outcome = "source runs";
    out.ok = v.rfind("PASS", 0) == 0;
    if (!out.ok)
      out.outcome = "VIOLATION: source damaged (" + v + ")";
  }
  return out;
}

TEST(Chaos, TheInvariantHoldsWhereverASideBreaks) {
  const uint64_t runs = env_or("LMIG_CHAOS_RUNS", 24), seed = env_or("LMIG_CHAOS_SEED", 1);
  std::mt19937_64 rng(seed);
  std::map<std::string, std::map<std::string, int>> table; // blow -> outcome -> count
  int violations = 0;
  for (uint64_t i = 0; i < runs; i++) {
    const bool postcopy = rng() % 3 != 0;
    const Blow blow = static_cast<Blow>(rng() % 6);
    // Instants from the connection to well into post-copy; a quarter of the
    // runs stretch the capture so that its remote system calls get hit.
    const int delay_ms = static_cast<int>(rng() % 700);
    const bool slow_capture = rng() % 4 == 0 && blow != Blow::kill_worker &&
                              blow != Blow::kill_both;
    Outcome r = one(rng, postcopy, blow, delay_ms, slow_capture);
    const std::string key = std::string(postcopy ? "post-copy " : "stop-copy ") + name(blow);
    table[key][r.outcome]++;
    std::printf("chaos %3llu: %-32s at %3d ms%s: %s\n", static_cast<unsigned long long>(i),
                key.c_str(), delay_ms, slow_capture ? " (slow capture)" : "",
                r.outcome.c_str());
    std::fflush(stdout);
    if (!r.ok) {
      violations++;
      ADD_FAILURE() << "run " << i << " (seed " << seed << "): " << key << " at " << delay_ms
                    << " ms: " << r.outcome << "\n" << r.detail;
    }
  }
  std::printf("\nseed %llu, %llu runs\n%-34s %-22s %s\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(runs), "break", "outcome", "count");
  for (const auto &[blow, outcomes] : table)
    for (const auto &[outcome, n] : outcomes)
      std::printf("%-34s %-22s %d\n", blow.c_str(), outcome.c_str(), n);
  std::printf("%d violations\n", violations);
}

} // namespace
} // namespace lmig::test

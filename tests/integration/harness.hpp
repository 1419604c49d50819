// Test harness for end-to-end migrations: starts lmigd and workloads as real
// processes, runs lmig, reads verdicts, and cleans up only what it started,
// by PID.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lmig::test {

// Paths of the programs under test (from the environment meson sets).
std::string bin(const char *env_name);
// The built one-facet workload facet_NAME (from $FACETS).
std::string facet_program(const std::string &name);

struct CmdResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

using Env = std::vector<std::pair<std::string, std::string>>;

// Runs a command to completion (killed after timeout), capturing output;
// env adds to the environment.
CmdResult run(const std::vector<std::string> &argv,
              std::chrono::milliseconds timeout = std::chrono::seconds(60), const Env &env = {});

// Starts a detached process (new session, stdio on /dev/null or the given
// files, no inherited fds) and returns its PID.
pid_t spawn(const std::vector<std::string> &argv, const std::string &out = "/dev/null",
            const std::string &err = "/dev/null", const Env &env = {});



bool alive(pid_t pid);
// A TCP socket listening on 127.0.0.1 at a port the kernel picks.
int listen_loopback(uint16_t &port);
char proc_state(pid_t pid); // from /proc/PID/stat; 0 if gone
bool has_capability(int cap); // in this process's effective set
// lmig's migration worker: its child named lmig-worker, once it exists; -1
// after timeout.
pid_t migration_worker_of(pid_t lmig,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));
void kill_and_reap(pid_t pid);
std::string read_file(const std::string &path);
bool wait_for(const std::function<bool()> &cond, std::chrono::milliseconds timeout);

// Kills a process we started (or migrated) when the test ends, even when an
// assertion ended it early. Holds a pidfd, so a recycled PID is never hit.
class ProcessGuard {
public:
  explicit ProcessGuard(pid_t pid);
  ProcessGuard(const ProcessGuard &) = delete;
  ProcessGuard &operator=(const ProcessGuard &) = delete;
  ~ProcessGuard();

private:
  pid_t pid_;
  int pidfd_;
};

class TempDir {
public:
  TempDir();
  ~TempDir();
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

// A command run in the background, its output kept: pid() to signal it,
// finish() for its result. Killed and reaped if never finished.
class Background {
public:
  explicit Background(const std::vector<std::string> &argv, const Env &env = {});
  Background(const Background &) = delete;
  Background &operator=(const Background &) = delete;
  ~Background();
  pid_t pid() const { return pid_; }
  CmdResult finish(std::chrono::milliseconds timeout = std::chrono::seconds(120));

private:
  TempDir dir_;
  pid_t pid_ = -1;
};

// lmigd on 127.0.0.1 with a port it picks itself.
class Lmigd {
public:
  // wrapper: a command prefix (e.g. to run it in another mount namespace).
  explicit Lmigd(std::vector<std::string> extra_args = {},
                 std::vector<std::string> wrapper = {});
  ~Lmigd();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(dir_.file("lmigd.log")); }
  void stop();
  // kill -9, as a crash would, and reap it.
  void kill9();
  // SIGTERM, then its exit status (-1 if it had to be killed).
  int terminate();
  // The PID (here) of the first process it says runs, once it says so; -1
  // after timeout.
  pid_t wait_running(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

private:
  TempDir dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// A workload in its own directory: wl_state (with extra arguments and a
// memory size), or any program speaking the same protocol (a facet).
class Workload {
public:
  explicit Workload(std::vector<std::string> extra_args = {}, size_t mem_mib = 16);
  struct Program {
    std::string path;
  };
  explicit Workload(const Program &program);
  ~Workload();
  pid_t pid() const { return pid_; }
  const TempDir &dir() const { return dir_; }
  // Sends SIGUSR1 to `pid` (the source or the migrated process) and waits
  // for verdict number `seq`; returns the verdict line ("" on timeout).
  std::string check(pid_t pid, unsigned seq,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void forget() { pid_ = -1; } // the process was moved: no longer ours to reap
  void reap_source();          // wait for the killed source to be collected

private:
  void start(std::vector<std::string> argv);
  TempDir dir_;
  pid_t pid_ = -1;
};

// The source process as it was: alive, neither traced nor stopped, and its
// check number `seq` passes (gtest expectations).
void expect_untouched(Workload &w, unsigned seq);

// The "key": value pairs of lmig --json output (numbers and strings).
std::map<std::string, std::string> parse_json_object(const std::string &text);

// What a `lmig ... --json` run that moved `w` left: the target process (its
// PID here; -1 when the run did not succeed), killed when this goes, and
// the source reaped.
class Moved {
public:
  Moved(const CmdResult &r, Workload &w);
  pid_t pid() const { return pid_; }
  // The moved workload's verdict on check `seq`.
  std::string check(unsigned seq) { return w_.check(pid_, seq); }

private:
  Workload &w_;
  pid_t pid_ = -1;
  std::unique_ptr<ProcessGuard> guard_;
};

} // namespace lmig::test

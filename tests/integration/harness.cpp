#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace lmig::test {

bool has_capability(int cap) {
  std::istringstream lines(read_file("/proc/self/status"));
  for (std::string l; std::getline(lines, l);)
    if (l.rfind("CapEff:", 0) == 0)
      return (std::stoull(l.substr(7), nullptr, 16) >> cap) & 1;
  return false;
}

std::string bin(const char *env_name) {
  const char *v = std::getenv(env_name);
  if (!v)
    throw std::runtime_error(std::string("environment variable ") + env_name + " not set");
  return v;
}

std::string facet_program(const std::string &name) {
  std::stringstream ss(bin("FACETS"));
  std::string item;
  while (std::getline(ss, item, ':')) {
    if (!item.empty() && item[0] == '!')
      item.erase(0, 1);
    if (item.ends_with("/facet_" + name))
      return item;
  }
  throw std::runtime_error("facet " + name + " is not built");
}

namespace {

[[noreturn]] void exec_child(const std::vector<std::string> &argv, int out_fd, int err_fd,
                             const Env &env = {}) {
  ::setsid();
  for (const auto &[k, v] : env)
    ::setenv(k.c_str(), v.c_str(), 1);
  int null_fd = ::open("/dev/null", O_RDWR);
  ::dup2(null_fd, 0);
  ::dup2(out_fd >= 0 ? out_fd : null_fd, 1);
  ::dup2(err_fd >= 0 ? err_fd : null_fd, 2);
  ::syscall(SYS_close_range, 3, ~0u, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char *> args;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

} // namespace

CmdResult run(const std::vector<std::string> &argv, std::chrono::milliseconds timeout,
              const Env &env) {
  TempDir tmp;
  std::string out_path = tmp.file("out"), err_path = tmp.file("err");
  int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t pid = ::fork();
  if (pid == 0)
    exec_child(argv, out_fd, err_fd, env);
  ::close(out_fd);
  ::close(err_fd);
  CmdResult r;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid)
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.err = "(timed out)\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out_path);
  r.err += read_file(err_path);
  return r;
}

pid_t spawn(const std::vector<std::string> &argv, const std::string &out, const std::string &err,
            const Env &env) {
  int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t pid = ::fork();
  if (pid == 0)
    exec_child(argv, out_fd, err_fd, env);
  ::close(out_fd);
  ::close(err_fd);
  return pid;
}

char proc_state(pid_t pid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t p = s.rfind(')');
  if (p == std::string::npos || p + 2 >= s.size())
    return 0;
  return s[p + 2];
}

pid_t migration_worker_of(pid_t lmig, std::chrono::milliseconds timeout) {
  pid_t worker = -1;
  wait_for(
      [&] {
        std::istringstream children(read_file("/proc/" + std::to_string(lmig) + "/task/" +
                                              std::to_string(lmig) + "/children"));
        for (pid_t c; children >> c;)
          if (read_file("/proc/" + std::to_string(c) + "/comm") == "lmig-worker\n") {
            worker = c;
            return true;
          }
        return false;
      },
      timeout);
  return worker;
}

Moved::Moved(const CmdResult &r, Workload &w) : w_(w) {
  if (r.exit_code != 0)
    return;
  auto json = parse_json_object(r.out);
  if (json.find("target_pid") == json.end())
    return;
  pid_ = std::stoi(json["target_pid"]);
  guard_ = std::make_unique<ProcessGuard>(pid_);
  w.reap_source();
}

void expect_untouched(Workload &w, unsigned seq) {
  ASSERT_TRUE(alive(w.pid()));
  EXPECT_NE(proc_state(w.pid()), 't') << "still traced";
  EXPECT_NE(proc_state(w.pid()), 'T') << "left stopped";
  std::string v = w.check(w.pid(), seq);
  EXPECT_EQ(v.substr(0, 4), "PASS") << v;
}

bool alive(pid_t pid) {
  char st = proc_state(pid);
  return st != 0 && st != 'Z' && st != 'X';
}

void kill_and_reap(pid_t pid) {
  if (pid <= 0)
    return;
  ::kill(pid, SIGKILL);
  // Ours (a child) or adopted through the subreaper flag: reap if we can.
  for (int i = 0; i < 500; i++) {
    if (::waitpid(pid, nullptr, WNOHANG) != 0)
      return;
    if (!alive(pid))
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string read_file(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool wait_for(const std::function<bool()> &cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

ProcessGuard::ProcessGuard(pid_t pid)
    : pid_(pid), pidfd_(pid > 0 ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)) : -1) {}

ProcessGuard::~ProcessGuard() {
  if (pidfd_ < 0)
    return;
  ::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
  ::waitpid(pid_, nullptr, WNOHANG); // ours or adopted: collect it if we can
  ::close(pidfd_);
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/lmig-test-XXXXXX";
  if (!::mkdtemp(tmpl))
    throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Lmigd::Lmigd(std::vector<std::string> extra_args, std::vector<std::string> wrapper) {
  std::vector<std::string> argv = std::move(wrapper);
  argv.push_back(bin("LMIGD"));
  argv.push_back("--listen");
  argv.push_back("127.0.0.1:0");
  argv.push_back("--port-file");
  argv.push_back(dir_.file("port"));
  for (auto &a : extra_args)
    argv.push_back(std::move(a));
  pid_ = spawn(argv, "/dev/null", dir_.file("lmigd.log"));
  if (!wait_for([&] { return read_file(dir_.file("port")).find('\n') != std::string::npos; },
                std::chrono::seconds(10)))
    throw std::runtime_error("lmigd did not start: " + log());
  port_ = static_cast<uint16_t>(std::stoi(read_file(dir_.file("port"))));
}

void Lmigd::stop() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGTERM);
  int status;
  for (int i = 0; i < 1000; i++) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill_and_reap(pid_);
  pid_ = -1;
}

int Lmigd::terminate() {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (wait_for([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, std::chrono::seconds(5))) {
    pid_ = -1;
    return status;
  }
  stop();
  return -1;
}

pid_t Lmigd::wait_running(std::chrono::milliseconds timeout) const {
  pid_t target = -1;
  wait_for(
      [&] {
        std::string text = log();
        size_t at = text.find("runs here as PID ");
        if (at == std::string::npos)
          return false;
        target = std::stoi(text.substr(at + 17));
        return true;
      },
      timeout);
  return target;
}

Lmigd::~Lmigd() { stop(); }

void Lmigd::kill9() {
  kill_and_reap(pid_);
  pid_ = -1;
}

Background::Background(const std::vector<std::string> &argv, const Env &env)
    : pid_(spawn(argv, dir_.file("out"), dir_.file("err"), env)) {}

Background::~Background() { kill_and_reap(pid_); }

CmdResult Background::finish(std::chrono::milliseconds timeout) {
  CmdResult r;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill_and_reap(pid_);
      status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  r.exit_code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(dir_.file("out"));
  r.err = read_file(dir_.file("err"));
  return r;
}

int listen_loopback(uint16_t &port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) < 0 ||
      ::listen(fd, 16) < 0 || ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) < 0)
    throw std::runtime_error("cannot listen on 127.0.0.1");
  port = ntohs(a.sin_port);
  return fd;
}

Workload::Workload(std::vector<std::string> extra_args, size_t mem_mib) {
  std::vector<std::string> argv = {bin("WL_STATE"), "--mem", std::to_string(mem_mib)};
  for (auto &a : extra_args)
    argv.push_back(std::move(a));
  start(std::move(argv));
}

Workload::Workload(const Program &program) { start({program.path}); }

void Workload::start(std::vector<std::string> argv) {
  for (const char *a : {"--dir", "", "--ready", "", "--verdict", ""})
    argv.push_back(a);
  argv[argv.size() - 5] = dir_.path();
  argv[argv.size() - 3] = dir_.file("ready");
  argv[argv.size() - 1] = dir_.file("verdict");
  pid_ = spawn(argv, dir_.file("stdout"), dir_.file("stderr"));
  if (!wait_for([&] { return read_file(dir_.file("ready")).find('\n') != std::string::npos; },
                std::chrono::seconds(30)))
    throw std::runtime_error("workload did not get ready: " + read_file(dir_.file("stderr")));
}

Workload::~Workload() {
  if (pid_ > 0)
    kill_and_reap(pid_);
}

std::string Workload::check(pid_t pid, unsigned seq, std::chrono::milliseconds timeout) {
  std::string want = "seq=" + std::to_string(seq);
  ::kill(pid, SIGUSR1);
  std::string v;
  bool got = wait_for(
      [&] {
        v = read_file(dir_.file("verdict"));
        return v.find(want + " ") != std::string::npos || v.find(want + ":") != std::string::npos;
      },
      timeout);
  while (!v.empty() && v.back() == '\n')
    v.pop_back();
  if (!got) // only the verdict asked for counts: an older one proves nothing
    return "NO VERDICT " + want + " (process " + (alive(pid) ? "alive" : "gone") +
           ", last verdict: " + v + ")";
  return v;
}

void Workload::reap_source() {
  if (pid_ <= 0)
    return;
  int status;
  wait_for([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, std::chrono::seconds(5));
  pid_ = -1;
}

std::map<std::string, std::string> parse_json_object(const std::string &text) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while ((i = text.find('"', i)) != std::string::npos) {
    size_t k_end = text.find('"', i + 1);
    if (k_end == std::string::npos)
      break;
    std::string key = text.substr(i + 1, k_end - i - 1);
    size_t colon = text.find_first_not_of(' ', k_end + 1);
    if (colon == std::string::npos || text[colon] != ':') {
      i = k_end + 1;
      continue;
    }
    size_t v = text.find_first_not_of(' ', colon + 1);
    std::string value;
    if (text[v] == '"') {
      size_t v_end = v + 1;
      while (v_end < text.size() && text[v_end] != '"')
        v_end += text[v_end] == '\\' ? 2 : 1;
      value = text.substr(v + 1, v_end - v - 1);
      i = v_end + 1;
    } else if (text[v] == '[') {
      size_t v_end = text.find(']', v);
      value = text.substr(v, v_end - v + 1);
      i = v_end + 1;
    } else {
      size_t v_end = text.find_first_of(",}", v);
      value = text.substr(v, v_end - v);
      i = v_end;
    }
    out[key] = value;
  }
  return out;
}

} // namespace lmig::test

namespace {
// Restored processes are children of lmigd's namespace init; when an lmigd
// of ours exits they are orphaned to us, so we can reap what we started.
class SubreaperEnvironment : public ::testing::Environment {
public:
  void SetUp() override { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
};
[[maybe_unused]] ::testing::Environment *const g_subreaper =
    ::testing::AddGlobalTestEnvironment(new SubreaperEnvironment);
} // namespace

// lmig_server_*: the target side of the C API. One listening socket; each
// accepted connection is one migration (served one at a time); restored
// processes are watched through their namespace init's pidfd so their exit
// is logged.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "engine/api/c_api_support.hpp"
#include "engine/base/log.hpp"
#include "engine/restore/target_session.hpp"
#include "transport/tcp_connection.hpp"

using namespace lmig;

struct lmig_server {
  Listener listener;
  SessionOptions session;
  bool once = false;
  UniqueFd stop_fd;
  struct Watched {
    pid_t vpid, pid;
    UniqueFd pidfd;
    std::string comm;
  };
  std::vector<Watched> watched;
};

namespace {

void reap(lmig_server *s, size_t i) {
  auto &w = s->watched[i];
  siginfo_t si{};
  if (::waitid(P_PIDFD, static_cast<id_t>(w.pidfd.get()), &si, WEXITED | WNOHANG) == 0 &&
      si.si_pid != 0) {
    if (si.si_code == CLD_EXITED)
      LMIG_INFO("migrated PID %d (%s, PID %d here) exited with status %d", w.vpid, w.comm.c_str(),
                w.pid, si.si_status);
    else
      LMIG_INFO("migrated PID %d (%s, PID %d here) was killed by signal %d", w.vpid,
                w.comm.c_str(), w.pid, si.si_status);
    s->watched.erase(s->watched.begin() + static_cast<long>(i));
  }
}

} // namespace

extern "C" lmig_status lmig_server_create(const lmig_server_options *o, lmig_server **out,
                                          lmig_error *err) {
  if (!o || !out || o->size < offsetof(lmig_server_options, listen) + sizeof(o->listen) ||
      !o->listen)
    return report_error(make_error(LMIG_ERR_INVALID_ARGUMENT, "no listen address given"), err);
  if (LMIG_HAS_FIELD(o, lmig_server_options, log_level) && o->log) {
    lmig_log_fn fn = o->log;
    void *user = o->log_user;
    set_log_sink([fn, user](LogLevel l, const std::string &line) {
      fn(user, static_cast<lmig_log_level>(l), line.c_str());
    }, static_cast<LogLevel>(o->log_level));
  }
  auto ep = parse_endpoint(o->listen);
  if (!ep.ok())
    return report_error(ep.error(), err);
  auto l = Listener::bind(*ep);
  if (!l.ok())
    return report_error(l.error(), err);
  auto *s = new lmig_server{std::move(l).value(), {}, false, UniqueFd(), {}};
  if (LMIG_HAS_FIELD(o, lmig_server_options, once))
    s->once = o->once != 0;
  if (LMIG_HAS_FIELD(o, lmig_server_options, auth_token) && o->auth_token)
    s->session.auth_token = o->auth_token;
  if (LMIG_HAS_FIELD(o, lmig_server_options, io_timeout_ms) && o->io_timeout_ms)
    s->session.io_timeout_ms = static_cast<int>(o->io_timeout_ms);
  s->stop_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  LMIG_INFO("listening on %s", s->listener.endpoint().str().c_str());
  *out = s;
  return report_ok(err);
}

extern "C" uint16_t lmig_server_port(const lmig_server *s) { return s ? s->listener.port() : 0; }

extern "C" lmig_status lmig_server_run(lmig_server *s, lmig_error *err) {
  for (;;) {
    std::vector<pollfd> fds{{s->stop_fd.get(), POLLIN, 0}, {s->listener.fd(), POLLIN, 0}};
    for (auto &w : s->watched)
      fds.push_back({w.pidfd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      return report_error(sys_error("poll"), err);
    }
    if (fds[0].revents) {
      LMIG_INFO("stopping");
      return report_ok(err);
    }
    for (size_t i = fds.size(); i-- > 2;)
      if (fds[i].revents)
        reap(s, i - 2);
    if (!fds[1].revents)
      continue;
    auto conn = s->listener.accept();
    if (!conn.ok()) {
      LMIG_WARN("%s", conn.error().message.c_str());
      continue;
    }
    LMIG_INFO("%s: connected", conn->peer().c_str());
    auto outcome = serve_migration(*conn, s->session);
    if (!outcome.ok()) {
      LMIG_ERROR("%s: migration failed: %s", conn->peer().c_str(),
                 outcome.error().describe().c_str());
      if (s->once)
        return report_error(outcome.error(), err);
      continue;
    }
    s->watched.push_back({outcome->vpid, outcome->pid, std::move(outcome->init_pidfd),
                          outcome->comm});
    if (s->once)
      return report_ok(err);
  }
}

extern "C" void lmig_server_stop(lmig_server *s) {
  if (!s)
    return;
  uint64_t one = 1;
  ssize_t r = ::write(s->stop_fd.get(), &one, sizeof one);
  (void)r;
}

extern "C" void lmig_server_destroy(lmig_server *s) { delete s; }

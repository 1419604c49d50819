// lmig_server_*: the target side of the C API. One listening socket; every
// accepted connection gets a thread of its own that reads its hello: a
// control connection is one migration, a bulk connection joins the
// post-copy migration it names. Until its hello is accepted a connection
// is a stranger: bounded in number, in time and in what it may send, and
// its failure is no migration (it never ends --once). Restored processes
// are watched through their namespace init's pidfd so their exit is logged.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <list>
#include <optional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "engine/api/c_api_support.hpp"
#include "engine/api/server_limits.hpp"
#include "engine/base/clock.hpp"
#include "engine/base/log.hpp"
#include "engine/base/printable.hpp"
#include "engine/base/rate_limit.hpp"
#include "engine/base/slots.hpp"
#include "engine/restore/session_registry.hpp"
#include "engine/restore/target_session.hpp"
#include "transport/tcp_channel.hpp"
#ifdef LMIG_HAVE_RDMA
#include "transport/rdma/rdma_channel.hpp"
#include "transport/rdma/rdma_listener.hpp"
#endif
#include "transport/secure/channel_proof.hpp"
#include "transport/secure/handshake.hpp"
#include "transport/secure/psk.hpp"
#include "transport/tcp_connection.hpp"

using namespace lmig;

struct lmig_server {
  Listener listener;
#ifdef LMIG_HAVE_RDMA
  std::optional<rdma::RdmaListener> rdma_listener; // post-copy channels over RDMA
#endif
  SessionOptions session;
  bool once = false;
  UniqueFd stop_fd;
  UniqueFd done_fd; // a migration finished: see `finished`
  SessionRegistry registry;

  struct Finished {
    Status status;
    SessionOutcome outcome;
  };
  std::mutex mu;
  std::vector<Finished> finished; // migrations that started (hello accepted), and ended
  std::set<int> open_fds; // connections in use, shut down on destroy

  Slots greetings{kMaxGreetings};
  Slots migrations{kMaxMigrations};
  RateLimit refusals{kRefusalWarningIntervalMs * 1000000ull};

  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Worker> workers;

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

void finish(lmig_server *s, lmig_server::Finished f) {
  std::lock_guard lock(s->mu);
  s->finished.push_back(std::move(f));
  uint64_t one = 1;
  (void)!::write(s->done_fd.get(), &one, sizeof one);
}

// A connection over a cap: closed at once, and said so once a second.
void turn_away(lmig_server *s, const std::string &peer, const char *what, size_t limit) {
  uint64_t held = 0;
  if (!s->refusals.allow(now_ns(), held))
    return;
  LMIG_WARN("%s: closed at once: %s (limit %zu)%s", peer.c_str(), what, limit,
            held ? (" (and " + std::to_string(held) + " more since the last warning)").c_str()
                 : "");
}

// Tells a peer why its connection ends, and the log too.
void refuse(Connection &conn, const Error &e, const std::string &what) {
  LMIG_WARN("%s: %s: %s", conn.peer().c_str(), what.c_str(), e.message.c_str());
  wire::ErrorMsg m{static_cast<uint32_t>(e.code), 0, e.message};
  (void)conn.send(wire::Type::error, wire::encode(m));
}

// A stranger's first frame: a hello, whole within kHelloTimeoutMs and no
// larger than one can be.
Result<wire::Hello> read_hello(Connection &conn) {
  std::vector<uint8_t> buf;
  LMIG_ASSIGN_OR_RETURN(wire::Type t,
                        conn.recv_within(buf, kHelloTimeoutMs, wire::kMaxHelloPayload));
  if (t != wire::Type::hello)
    return make_error(LMIG_ERR_PROTOCOL,
                      std::string("expected a hello, got ") + wire::type_name(t));
  return wire::decode_hello(buf);
}

// The hello's free text is only shown from here on: made printable once.
wire::Hello shown(wire::Hello h) {
  h.host = printable(h.host);
  h.kernel = printable(h.kernel);
  return h;
}

// A connection of a migration in progress (bulk, demand, reconnect): handed
// to its session.
void join_session(lmig_server *s, Connection conn, const wire::Hello &hello) {
  const unsigned long long session = hello.session;
  Status st = conn.send(wire::Type::hello_ack, wire::encode(target_hello()));
  if (!st.ok()) {
    LMIG_WARN("%s: connection for session %llx lost: %s", conn.peer().c_str(), session,
              st.error().message.c_str());
    return;
  }
  if (hello.role == wire::Role::control_reconnect || hello.role == wire::Role::bulk_reconnect)
    LMIG_INFO("%s: the source reconnects session %llx", conn.peer().c_str(), session);
  // The target's end: the push is received on a thread of its own,
  // a demand channel is read by the pager's own thread.
  bool bulk = hello.role == wire::Role::bulk || hello.role == wire::Role::bulk_reconnect;
  auto channel = TcpChannel::create(std::move(conn),
                                    bulk ? TcpChannel::Receive::reader_thread
                                         : TcpChannel::Receive::inline_assembly,
                                    TcpChannel::Send::immediate, 1);
  if (!channel.ok() || !s->registry.deliver(hello.session, hello.role, std::move(channel).value()))
    LMIG_WARN("session %llx: its %s connection could not be taken", session,
              bulk ? "bulk" : "demand");
}

// One accepted connection, on its own thread, holding a greeting place
// until its hello is accepted.
void handle(lmig_server *s, Connection conn, Slots::Slot greeting) {
  {
    std::lock_guard lock(s->mu);
    s->open_fds.insert(conn.fd());
  }
  struct Forget {
    lmig_server *s;
    int fd;
    ~Forget() {
      std::lock_guard lock(s->mu);
      s->open_fds.erase(fd);
    }
  } forget{s, conn.fd()};

  conn.set_io_timeout(kHelloTimeoutMs); // also bounds our answer to a stranger
  // Every connection opens with the handshake: a control connection proves
  // the pre-shared key (or, without one, none), a channel the secret of the
  // migration it joins. Nothing but its small frames is read before it
  // succeeds, and a hello of bounded size after it.
  auto key_for = [s](wire::Role role, uint64_t session,
                     bool has_key) -> Result<std::vector<uint8_t>> {
    if (role == wire::Role::control) {
      if (has_key && s->session.psk.empty())
        return make_error(LMIG_ERR_INVALID_ARGUMENT,
                          "authentication failed: the source holds a pre-shared key and this "
                          "lmigd none (give it the same --psk-file)");
      if (!has_key && !s->session.psk.empty())
        return make_error(LMIG_ERR_INVALID_ARGUMENT,
                          "authentication failed: this lmigd takes only sources that prove its "
                          "pre-shared key (--psk-file)");
      return s->session.psk;
    }
    auto secret = s->registry.secret(session);
    if (!secret)
      return make_error(LMIG_ERR_PROTOCOL, "no migration in progress with that session");
    return std::vector<uint8_t>(secret->begin(), secret->end());
  };
  auto secured = handshake_accept(conn, key_for, s->session.allow_cleartext, kHelloTimeoutMs,
                                  s->session.certs);
  if (!secured.ok()) { // the peer was told why
    LMIG_WARN("%s: connection refused: %s", conn.peer().c_str(),
              secured.error().message.c_str());
    return;
  }
  conn.set_crypto(secured->crypto);
  auto hello = read_hello(conn);
  if (!hello.ok())
    return refuse(conn, hello.error(), "hello refused");
  if (hello->role != secured->role ||
      (hello->role != wire::Role::control && hello->session != secured->session))
    return refuse(conn, make_error(LMIG_ERR_PROTOCOL, "its hello does not match its handshake"),
                  "hello refused");
  if (Status st = check_hello(*hello); !st.ok())
    return refuse(conn, st.error(), "hello refused");
  conn.set_io_timeout(s->session.io_timeout_ms);

  if (hello->role != wire::Role::control) { // a connection for a migration in progress
    if (!s->registry.has(hello->session)) {
      char what[96];
      snprintf(what, sizeof what, "connection for session %llx refused",
               static_cast<unsigned long long>(hello->session));
      return refuse(conn,
                    make_error(LMIG_ERR_PROTOCOL, "no migration in progress with that session"),
                    what);
    }
    return join_session(s, std::move(conn), *hello);
  }
  auto migration = s->migrations.try_take();
  if (!migration)
    return refuse(conn,
                  make_error(LMIG_ERR_TARGET_FAILED,
                             "this lmigd serves " + std::to_string(kMaxMigrations) +
                                 " migrations already; try again later"),
                  "migration refused");
  greeting.release();

  // From here on it is a migration: its end, good or bad, counts for --once.
  if (secured->peer_subject.empty())
    LMIG_INFO("%s: connected", conn.peer().c_str());
  else
    LMIG_INFO("%s: connected, certificate %s", conn.peer().c_str(),
              secured->peer_subject.c_str());
  auto outcome =
      serve_migration(conn, shown(*hello), s->session, s->registry, secured->session_secret);
  if (!outcome.ok()) {
    LMIG_ERROR("%s: migration failed: %s", conn.peer().c_str(), outcome.error().describe().c_str());
    finish(s, {std::move(outcome).error(), {}});
    return;
  }
  finish(s, {Status{}, std::move(outcome).value()});
}

#ifdef LMIG_HAVE_RDMA
// One RDMA link, on its own thread: accepted with the configuration its
// role wants, greeted, handed to its session. It holds a greeting place
// until then.
void handle_rdma(lmig_server *s, rdma::ConnectRequest req, Slots::Slot) {
  const auto role = static_cast<wire::Role>(req.peer_params().role);
  const bool demand = role == wire::Role::demand;
  if (!demand && role != wire::Role::bulk) {
    LMIG_WARN("%s: RDMA link with role %u refused", req.peer().c_str(),
              static_cast<unsigned>(role));
    return;
  }
  const std::string peer = req.peer();
  auto link = rdma::RdmaLink::accept(std::move(req),
                                     demand ? rdma::LinkConfig::demand_target()
                                            : rdma::LinkConfig::bulk_target(),
                                     10000);
  if (!link.ok()) {
    LMIG_WARN("%s: RDMA link not established: %s", peer.c_str(), link.error().message.c_str());
    return;
  }
  (*link)->set_io_timeout(s->session.io_timeout_ms);
  auto ch = std::make_unique<rdma::RdmaChannel>(std::move(link).value());
  auto m = ch->next(kHelloTimeoutMs);
  Status st;
  wire::Hello hello;
  if (!m.ok()) {
    st = std::move(m).error();
  } else {
    auto h = m->type == wire::Type::hello
                 ? wire::decode_hello(m->payload)
                 : Result<wire::Hello>(make_error(LMIG_ERR_PROTOCOL, "expected a hello"));
    ch->release(*m);
    if (!h.ok())
      st = std::move(h).error();
    else
      hello = *h;
  }
  if (st.ok())
    st = check_hello(hello);
  auto secret = s->registry.secret(hello.session);
  if (st.ok() && (hello.role != role || !secret))
    st = make_error(LMIG_ERR_PROTOCOL, "no migration in progress with that session");
  std::string nonce;
  if (st.ok())
    st = check_channel_proof(hello.auth, *secret, hello.session, role, nonce);
  if (st.ok() && !s->registry.first_use(hello.session, nonce))
    st = make_error(LMIG_ERR_INVALID_ARGUMENT,
                    "authentication failed: the RDMA link replays another's proof");
  if (st.ok())
    st = ch->send(wire::Type::hello_ack, wire::encode(target_hello()));
  if (!st.ok()) {
    LMIG_WARN("%s: RDMA link refused: %s", peer.c_str(), st.error().message.c_str());
    wire::ErrorMsg e{static_cast<uint32_t>(st.error().code), 0, st.error().message};
    (void)ch->send(wire::Type::error, wire::encode(e));
    return;
  }
  LMIG_INFO("%s: RDMA %s link of session %llx up", peer.c_str(), demand ? "demand" : "bulk",
            static_cast<unsigned long long>(hello.session));
  if (!s->registry.deliver(hello.session, role, std::move(ch)))
    LMIG_WARN("session %llx ended before its RDMA link arrived",
              static_cast<unsigned long long>(hello.session));
}
#endif

void join_finished(lmig_server *s) {
  for (auto it = s->workers.begin(); it != s->workers.end();) {
    if (*it->done) {
      it->thread.join();
      it = s->workers.erase(it);
    } else {
      ++it;
    }
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
  if (LMIG_HAS_FIELD(o, lmig_server_options, auth_token))
    if (auto st = refuse_auth_token(o->auth_token); !st.ok())
      return report_error(st.error(), err);
  std::vector<uint8_t> psk;
  bool insecure = false;
  if (LMIG_HAS_FIELD(o, lmig_server_options, insecure)) {
    auto key = caller_psk(o->psk_file, o->psk, o->psk_len);
    if (!key.ok())
      return report_error(key.error(), err);
    psk = std::move(key).value();
    insecure = o->insecure != 0;
  }
  CertAuth certs;
  if (LMIG_HAS_FIELD(o, lmig_server_options, ca_pem)) {
    auto id = caller_certs(o->cert_file, o->key_file, o->ca_file, o->cert_pem, o->key_pem,
                           o->ca_pem);
    if (!id.ok())
      return report_error(id.error(), err);
    certs.identity = std::move(id).value();
  }
  // Anyone who reaches the port could start a process as root here: only
  // this host's users, on loopback, unless the operator says otherwise.
  if (psk.empty() && !certs.identity && !insecure && !is_loopback(*ep))
    return report_error(make_error(LMIG_ERR_INVALID_ARGUMENT,
                                   "lmigd would run any process it is sent on " + ep->str() +
                                       " without knowing who sent it: give it certificates "
                                       "(--cert, --key, --ca) or a pre-shared key (--psk-file), "
                                       "or, on a network you trust, --insecure"),
                        err);
  auto l = Listener::bind(*ep);
  if (!l.ok())
    return report_error(l.error(), err);
  auto *s = new lmig_server;
  s->listener = std::move(l).value();
  if (LMIG_HAS_FIELD(o, lmig_server_options, once))
    s->once = o->once != 0;
  s->session.psk = std::move(psk);
  s->session.certs = std::move(certs);
  if (LMIG_HAS_FIELD(o, lmig_server_options, cgroup_create)) {
    if (o->cgroup_root && *o->cgroup_root) {
      std::string root = o->cgroup_root;
      while (root.size() > 1 && root.back() == '/')
        root.pop_back();
      if (root[0] != '/') {
        delete s;
        return report_error(make_error(LMIG_ERR_INVALID_ARGUMENT,
                                       "the cgroup root must be an absolute path: " + root),
                            err);
      }
      s->session.cgroup_root = root;
    }
    s->session.cgroup_create = o->cgroup_create != 0;
  }
  // Test and benchmark builds measure the cost of encryption against this.
  s->session.allow_cleartext = std::getenv("LMIG_TEST_CLEARTEXT") != nullptr;
  if (s->session.certs.identity)
    LMIG_INFO("certificate %s; sources must show one its CA signed",
              s->session.certs.identity->subject().c_str());
  else if (s->session.psk.empty())
    LMIG_WARN("no pre-shared key or certificate: sources are not authenticated (%s)",
              insecure ? "--insecure" : "loopback only");
  if (LMIG_HAS_FIELD(o, lmig_server_options, io_timeout_ms) && o->io_timeout_ms)
    s->session.io_timeout_ms = static_cast<int>(o->io_timeout_ms);
  if (LMIG_HAS_FIELD(o, lmig_server_options, reconnect_timeout_ms) && o->reconnect_timeout_ms)
    s->session.reconnect_timeout_ms = static_cast<int>(o->reconnect_timeout_ms);
  s->stop_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  s->done_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  lmig_transport transport = LMIG_HAS_FIELD(o, lmig_server_options, transport)
                                 ? o->transport
                                 : LMIG_TRANSPORT_TCP;
  if (transport != LMIG_TRANSPORT_TCP) {
    std::string why;
#ifdef LMIG_HAVE_RDMA
    bool usable = rdma::rdma_usable(&why);
#else
    bool usable = false;
    why = "this lmigd was built without RDMA";
#endif
    if (!usable && transport == LMIG_TRANSPORT_RDMA) {
      delete s;
      return report_error(make_error(LMIG_ERR_INCOMPATIBLE, "RDMA was asked for but " + why), err);
    }
#ifdef LMIG_HAVE_RDMA
    if (usable) {
      auto rl = rdma::RdmaListener::bind(s->listener.endpoint());
      if (!rl.ok()) {
        if (transport == LMIG_TRANSPORT_RDMA) {
          Error e = std::move(rl).error();
          delete s;
          return report_error(e.context("RDMA listener"), err);
        }
        LMIG_WARN("no RDMA listener (%s): post-copy over TCP only", rl.error().message.c_str());
      } else {
        s->rdma_listener.emplace(std::move(rl).value());
        s->session.rdma = true;
        LMIG_INFO("accepting post-copy channels over RDMA on %s",
                  s->listener.endpoint().str().c_str());
      }
    }
#endif
    if (!usable)
      LMIG_INFO("no RDMA (%s): post-copy over TCP only", why.c_str());
  }
  LMIG_INFO("listening on %s", s->listener.endpoint().str().c_str());
  *out = s;
  return report_ok(err);
}

extern "C" uint16_t lmig_server_port(const lmig_server *s) { return s ? s->listener.port() : 0; }

extern "C" lmig_status lmig_server_run(lmig_server *s, lmig_error *err) {
  for (;;) {
    int rdma_fd = -1;
#ifdef LMIG_HAVE_RDMA
    if (s->rdma_listener)
      rdma_fd = s->rdma_listener->fd();
#endif
    std::vector<pollfd> fds{{s->stop_fd.get(), POLLIN, 0},
                            {s->listener.fd(), POLLIN, 0},
                            {s->done_fd.get(), POLLIN, 0},
                            {rdma_fd, POLLIN, 0}};
    for (auto &w : s->watched)
      fds.push_back({w.pidfd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 1000) < 0) {
      if (errno == EINTR)
        continue;
      return report_error(sys_error("poll"), err);
    }
    join_finished(s);
    if (fds[0].revents) {
      LMIG_INFO("stopping");
      return report_ok(err);
    }
    for (size_t i = fds.size(); i-- > 4;)
      if (fds[i].revents)
        reap(s, i - 4);
#ifdef LMIG_HAVE_RDMA
    if (fds[3].revents) {
      auto req = s->rdma_listener->next_request(0);
      auto greeting = req.ok() ? s->greetings.try_take() : std::nullopt;
      if (req.ok() && !greeting) {
        turn_away(s, req->peer(), "too many connections are being greeted", kMaxGreetings);
      } else if (req.ok()) {
        auto done = std::make_shared<std::atomic<bool>>(false);
        s->workers.push_back({std::thread([s, r = std::move(req).value(), done,
                                           g = std::move(*greeting)]() mutable {
                                handle_rdma(s, std::move(r), std::move(g));
                                *done = true;
                              }),
                              done});
      } else if (req.error().code != LMIG_ERR_TIMEOUT) {
        LMIG_WARN("RDMA listener: %s", req.error().message.c_str());
      }
    }
#endif
    if (fds[2].revents) {
      uint64_t v;
      (void)!::read(s->done_fd.get(), &v, sizeof v);
      std::vector<lmig_server::Finished> done;
      {
        std::lock_guard lock(s->mu);
        done.swap(s->finished);
      }
      for (auto &f : done) {
        if (f.status.ok())
          s->watched.push_back({f.outcome.vpid, f.outcome.pid, std::move(f.outcome.init_pidfd),
                                f.outcome.comm});
        if (s->once)
          return f.status.ok() ? report_ok(err) : report_error(f.status.error(), err);
      }
    }
    if (fds[1].revents) {
      auto conn = s->listener.accept();
      if (!conn.ok()) {
        LMIG_WARN("%s", conn.error().message.c_str());
        continue;
      }
      // Over the cap the connection is closed at once: a thread for each
      // would be what a flood of strangers wants.
      auto greeting = s->greetings.try_take();
      if (!greeting) {
        turn_away(s, conn->peer(), "too many connections are being greeted", kMaxGreetings);
        continue;
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      s->workers.push_back(
          {std::thread([s, c = std::move(conn).value(), done, g = std::move(*greeting)]() mutable {
             handle(s, std::move(c), std::move(g));
             *done = true;
           }),
           done});
    }
  }
}

extern "C" void lmig_server_stop(lmig_server *s) {
  if (!s)
    return;
  uint64_t one = 1;
  (void)!::write(s->stop_fd.get(), &one, sizeof one);
}

extern "C" void lmig_server_destroy(lmig_server *s) {
  if (!s)
    return;
  {
    // Migrations still in flight end now (their half-restored processes die
    // with them); processes that already run here are not touched.
    std::lock_guard lock(s->mu);
    for (int fd : s->open_fds)
      ::shutdown(fd, SHUT_RDWR);
  }
  for (auto &w : s->workers)
    w.thread.join();
  delete s;
}

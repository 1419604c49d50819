#include "engine/source/migration.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "engine/base/clock.hpp"
#include "engine/base/log.hpp"
#include "engine/capture/shared_tables.hpp"
#include "engine/capture/capture.hpp"
#include "engine/capture/fd_capture.hpp"
#include "engine/capture/frozen_tree.hpp"
#include "engine/capture/tree_sharing.hpp"
#include "engine/capture/precheck.hpp"
#include "engine/capture/proc_status.hpp"
#include "engine/image/image_codec.hpp"
#include "engine/image/process_tree.hpp"
#include "engine/restore/cpu_state.hpp"
#include "engine/source/page_server.hpp"
#include "engine/source/page_streamer.hpp"
#include "transport/tcp_channel.hpp"
#ifdef LMIG_HAVE_RDMA
#include "transport/rdma/rdma_channel.hpp"
#endif
#include "transport/secure/channel_proof.hpp"
#include "transport/secure/handshake.hpp"
#include "transport/tcp_connection.hpp"
#include "transport/wire.hpp"

namespace lmig {
namespace {

wire::Hello local_hello(const MigrateOptions &opts, uint64_t session, wire::Role role,
                        bool want_rdma = false) {
  wire::Hello h = host_hello();
  if (want_rdma)
    h.features |= wire::kFeatureRdma;
  h.mode = static_cast<uint32_t>(opts.mode);
  h.session = session;
  h.role = role;
  return h;
}

// Reads the next frame; an error frame from the target becomes its error.
Result<wire::Type> expect(Connection &c, std::vector<uint8_t> &buf, wire::Type want,
                          const char *while_doing) {
  LMIG_ASSIGN_OR_RETURN(wire::Type t, c.recv(buf));
  if (t == wire::Type::error) {
    LMIG_ASSIGN_OR_RETURN(auto em, wire::decode_error(buf));
    return wire::peer_error(em, Side::target);
  }
  if (t != want)
    return make_error(LMIG_ERR_PROTOCOL, std::string("target sent ") + wire::type_name(t) +
                                             " while " + while_doing + " (expected " +
                                             wire::type_name(want) + ")");
  return t;
}

void report(const MigrateOptions &o, lmig_phase p, uint64_t done, uint64_t total) {
  if (o.report)
    o.report(p, done, total);
  else if (o.progress)
    o.progress(o.progress_user, p, done, total);
}

// Whether the caller has died, and the migration is to be called off while
// the source can still resume.
Status check_caller(const MigrateOptions &o, const char *during) {
  if (o.caller_gone && o.caller_gone())
    return make_error(LMIG_ERR_CANCELLED, std::string("the caller of the migration went away ") +
                                              during + ", before the switchover");
  return {};
}

// Tells the target we give up (best effort) so it tears its side down.
void send_abort(Connection &c, const Error &e) {
  wire::ErrorMsg m{static_cast<uint32_t>(e.code), e.sys_errno, "source gave up: " + e.message};
  (void)c.send(wire::Type::error, wire::encode(m));
}

// Opens a connection, proves `key` in its handshake (the pre-shared key on
// the control connection, the migration's secret on a channel), and greets
// the target with it. secret_out: the secret the control handshake exported.
Result<Connection> connect_and_greet(const Endpoint &ep, const MigrateOptions &opts,
                                     uint64_t session, wire::Role role,
                                     std::span<const uint8_t> key, bool want_rdma = false,
                                     wire::Hello *peer_out = nullptr,
                                     Key *secret_out = nullptr, uint64_t memory_bytes = 0) {
  LMIG_ASSIGN_OR_RETURN(Connection conn, Connection::connect(ep, opts.connect_timeout_ms));
  conn.set_io_timeout(opts.io_timeout_ms);
  CertAuth certs = opts.certs;
  if (certs.peer_name.empty())
    certs.peer_name = ep.host;
  LMIG_ASSIGN_OR_RETURN(auto secured, handshake_dial(conn, key, role, session, opts.cleartext,
                                                     opts.io_timeout_ms, certs));
  conn.set_crypto(secured.crypto);
  if (secret_out)
    *secret_out = secured.session_secret;
  std::vector<uint8_t> buf;
  wire::Hello hello = local_hello(opts, session, role, want_rdma);
  hello.memory_bytes = memory_bytes;
  LMIG_TRY(conn.send(wire::Type::hello, wire::encode(hello)));
  LMIG_TRY(expect(conn, buf, wire::Type::hello_ack, "greeting"));
  LMIG_ASSIGN_OR_RETURN(auto peer, wire::decode_hello(buf));
  if (peer.version != wire::kProtocolVersion)
    return make_error(LMIG_ERR_INCOMPATIBLE, "target speaks protocol version " +
                                                 std::to_string(peer.version));
  if (peer_out)
    *peer_out = peer;
  return conn;
}

uint64_t new_session_id() {
  uint64_t id = 0;
  while (id == 0)
    if (::getrandom(&id, sizeof id, 0) != sizeof id)
      id = now_ns() ^ (static_cast<uint64_t>(::getpid()) << 32);
  return id;
}

#ifdef LMIG_HAVE_RDMA
// An RDMA link of a post-copy migration, greeted like a TCP connection.
Result<std::unique_ptr<Channel>> dial_rdma(const Endpoint &ep, const MigrateOptions &opts,
                                           uint64_t session, bool demand, const Key &secret) {
  auto cfg = demand ? rdma::LinkConfig::demand_source() : rdma::LinkConfig::bulk_source();
  cfg.role = demand ? wire::Role::demand : wire::Role::bulk;
  cfg.session = session;
  LMIG_ASSIGN_OR_RETURN(auto link, rdma::RdmaLink::connect(ep, cfg, opts.connect_timeout_ms));
  link->set_io_timeout(opts.io_timeout_ms);
  auto ch = std::make_unique<rdma::RdmaChannel>(std::move(link));
  // No TCP handshake here: the hello proves the migration's secret.
  wire::Hello hello = local_hello(opts, session, cfg.role);
  hello.auth = make_channel_proof(secret, session, cfg.role);
  LMIG_TRY(ch->send(wire::Type::hello, wire::encode(hello)));
  LMIG_ASSIGN_OR_RETURN(auto m, ch->next(opts.io_timeout_ms));
  std::vector<uint8_t> payload(m.payload.begin(), m.payload.end());
  wire::Type t = m.type;
  ch->release(m);
  if (t == wire::Type::error) {
    LMIG_ASSIGN_OR_RETURN(auto em, wire::decode_error(payload));
    return wire::peer_error(em, Side::target);
  }
  if (t != wire::Type::hello_ack)
    return make_error(LMIG_ERR_PROTOCOL, std::string("target sent ") + wire::type_name(t) +
                                             " on a new RDMA link");
  return std::unique_ptr<Channel>(std::move(ch));
}
#endif

// Whether this side can do RDMA (and why not).
bool local_rdma(std::string &why) {
#ifdef LMIG_HAVE_RDMA
  return rdma::rdma_usable(&why);
#else
  why = "this lmig was built without RDMA";
  return false;
#endif
}

// The source's end of a post-copy channel over TCP: the demand channel
// answers on the spot, the push goes out in io_uring batches.
Result<std::unique_ptr<Channel>> source_channel(Connection conn, bool demand) {
  LMIG_ASSIGN_OR_RETURN(auto c, TcpChannel::create(std::move(conn),
                                                   TcpChannel::Receive::inline_assembly,
                                                   demand ? TcpChannel::Send::immediate
                                                          : TcpChannel::Send::batched,
                                                   wire::kMaxPagesPerFrame));
  return std::unique_ptr<Channel>(std::move(c));
}

// Test-only fault injection, from the environment (documented in tests/).
uint64_t test_knob(const char *name) {
  const char *v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : 0;
}

// The source's post-copy channels of one tree member: a demand channel and
// a bulk one, over RDMA or TCP, naming the member's session.
struct MemberLinks {
  std::unique_ptr<Channel> demand, bulk;
};

Result<MemberLinks> dial_member(const Endpoint &ep, const MigrateOptions &opts, uint64_t session,
                                bool use_rdma, const Key &secret) {
  MemberLinks l;
#ifdef LMIG_HAVE_RDMA
  if (use_rdma) {
    LMIG_ASSIGN_OR_RETURN(l.demand, dial_rdma(ep, opts, session, true, secret));
    LMIG_ASSIGN_OR_RETURN(l.bulk, dial_rdma(ep, opts, session, false, secret));
    return l;
  }
#endif
  (void)use_rdma;
  LMIG_ASSIGN_OR_RETURN(Connection d,
                        connect_and_greet(ep, opts, session, wire::Role::demand, secret));
  LMIG_ASSIGN_OR_RETURN(l.demand, source_channel(std::move(d), true));
  LMIG_ASSIGN_OR_RETURN(Connection b,
                        connect_and_greet(ep, opts, session, wire::Role::bulk, secret));
  LMIG_ASSIGN_OR_RETURN(l.bulk, source_channel(std::move(b), false));
  return l;
}

// Adds one member's post-copy figures to the migration's.
void add_postcopy_stats(lmig_stats &stats, const wire::Done &d, const PageServer &server,
                        bool root) {
  stats.pages_demand += d.pages_demand;
  stats.pages_prefetched += d.pages_prefetched;
  stats.pages_pushed += d.pages_pushed;
  stats.pages_zero += d.pages_zero;
  stats.checksum_retries += d.checksum_retries;
  // Latency percentiles are the root's (they do not add up); the histogram
  // and the worst case cover every member.
  if (root) {
    if (d.reason == wire::kDoneProcessExited)
      stats.exit_status = d.exit_status;
    stats.postcopy_ms = ns_to_ms(d.postcopy_ns);
    stats.fault_p50_us = d.fault_p50_us;
    stats.fault_p99_us = d.fault_p99_us;
  } else {
    stats.postcopy_ms = std::max(stats.postcopy_ms, ns_to_ms(d.postcopy_ns));
  }
  stats.fault_max_us = std::max(stats.fault_max_us, d.fault_max_us);
  for (int b = 0; b < LMIG_LATENCY_BUCKETS && b < wire::kHistogramBuckets; b++)
    stats.fault_histogram[b] += d.histogram[b];
  const uint64_t pages = server.pages_pushed() + server.pages_served();
  stats.pages_sent += pages;
  stats.bytes += pages * (4096 + sizeof(wire::FrameHeader) + sizeof(wire::PagesHeader));
  stats.pages_total += server.inventory_pages();
}

} // namespace

Status migrate_process(pid_t pid, const MigrateOptions &opts, lmig_stats &stats) {
  stats.mode = opts.mode;
  stats.source_pid = pid;
  stats.exit_status = -1;
  const bool postcopy = opts.mode == LMIG_MODE_POSTCOPY;
  LMIG_ASSIGN_OR_RETURN(TreePrecheck pre, precheck(pid));
  const ProcessTree &tree = pre.scan.tree;
  const bool is_tree = tree.members.size() > 1;
  LMIG_ASSIGN_OR_RETURN(Endpoint ep, parse_endpoint(opts.destination));

  // Which transport carries the post-copy channels, decided before the
  // process is touched.
  bool want_rdma = false;
  if (postcopy && opts.transport != LMIG_TRANSPORT_TCP) {
    std::string why;
    want_rdma = local_rdma(why);
    if (!want_rdma && opts.transport == LMIG_TRANSPORT_RDMA)
      return make_error(LMIG_ERR_INCOMPATIBLE, "RDMA was asked for but " + why);
  }

  // Only a target that proves the pre-shared key or shows a certificate
  // the CA signed gets the process; one that cannot (no credentials given)
  // only on this host, or when told --insecure.
  if (opts.psk.empty() && !opts.certs.identity && !opts.insecure && !is_loopback(ep))
    return make_error(LMIG_ERR_INVALID_ARGUMENT,
                      "refusing to send PID " + std::to_string(pid) + " to " + ep.str() +
                          ", which cannot prove who it is: give both sides certificates "
                          "(--cert, --key, --ca) or a pre-shared key (--psk-file), or, on a "
                          "network you trust, --insecure");

  // Reach the target and agree before touching the process. Post-copy has
  // two channels (demand, push): the control connection and a second TCP
  // connection, or two RDMA links. Each channel proves the secret of the
  // control connection's handshake.
  const uint64_t session = postcopy ? new_session_id() : 0;
  // What the target must find room for, asked before anything is frozen.
  uint64_t memory_bytes = 0;
  for (size_t i = 0; i < tree.members.size(); i++)
    if (!tree.members[i].zombie)
      if (auto st = read_status(pre.scan.host_pids[i]); st.ok())
        memory_bytes += (st->rss_anon_kb + st->rss_shmem_kb) * 1024;
  wire::Hello peer;
  Key secret{};
  LMIG_ASSIGN_OR_RETURN(Connection conn,
                        connect_and_greet(ep, opts, session, wire::Role::control, opts.psk,
                                          want_rdma, &peer, &secret, memory_bytes));
  const bool use_rdma = want_rdma && (peer.features & wire::kFeatureRdma);
  if (want_rdma && !use_rdma && opts.transport == LMIG_TRANSPORT_RDMA)
    return make_error(LMIG_ERR_INCOMPATIBLE,
                      "RDMA was asked for but the target does not take it (start lmigd with "
                      "--transport rdma, on a host with an RDMA device)");
  stats.transport = use_rdma ? LMIG_TRANSPORT_RDMA : LMIG_TRANSPORT_TCP;
  std::vector<uint8_t> buf;
  // A tree is announced first: the target opens the sessions of the other
  // members' page channels before they are dialled.
  if (is_tree) {
    LMIG_TRY(conn.send(wire::Type::tree, encode_tree(tree)));
    LMIG_TRY(expect(conn, buf, wire::Type::ready, "taking the process tree"));
  }
  Connection bulk;
  std::unique_ptr<Channel> rdma_demand, rdma_bulk;
  if (postcopy && !use_rdma) {
    LMIG_ASSIGN_OR_RETURN(bulk, connect_and_greet(ep, opts, session, wire::Role::bulk, secret));
  }
#ifdef LMIG_HAVE_RDMA
  if (use_rdma) {
    LMIG_ASSIGN_OR_RETURN(rdma_demand, dial_rdma(ep, opts, session, true, secret));
    LMIG_ASSIGN_OR_RETURN(rdma_bulk, dial_rdma(ep, opts, session, false, secret));
  }
#endif
  // The other live members' channels, by member index.
  std::vector<MemberLinks> member_links(tree.members.size());
  if (postcopy)
    for (size_t i = 1; i < tree.members.size(); i++)
      if (!tree.members[i].zombie) {
        LMIG_ASSIGN_OR_RETURN(member_links[i],
                              dial_member(ep, opts, tree.members[i].session, use_rdma,
                                          secret));
      }

  const uint64_t t0 = now_ns();
  report(opts, LMIG_PHASE_FREEZE, 0, 0);
  auto frozen_or = FrozenTree::freeze(pre.scan);
  if (!frozen_or.ok()) {
    send_abort(conn, frozen_or.error());
    return std::move(frozen_or).error();
  }
  FrozenTree frozen = std::move(frozen_or).value();
  // Once frozen, the caller's death is looked for between steps (inside
  // one, the worker finishes it and puts every register back first).
  const uint64_t t_frozen = now_ns();
  stats.freeze_ms = ns_to_ms(t_frozen - t0);

  // From here on until pages_end, any failure resumes the processes (the
  // FrozenProcess destructors detach).
  auto fail = [&](Error e) -> Status {
    send_abort(conn, e);
    (void)frozen.resume();
    return e;
  };
  if (auto st = check_caller(opts, "while the process was being frozen"); !st.ok())
    return fail(std::move(st).error());
  report(opts, LMIG_PHASE_CAPTURE, 0, 0);
  // What the members share, read again now that they are frozen: those
  // open files travel once, as the tree's files.
  if (auto st = refuse_shared_tables(pre.scan); !st.ok())
    return fail(std::move(st).error());
  auto sharing = find_tree_sharing(pre.scan);
  if (!sharing.ok())
    return fail(std::move(sharing).error());
  std::vector<uint8_t> tree_files;
  if (is_tree) {
    auto shared = capture_fd_set(sharing->slots, sharing->mappings, true);
    if (!shared.ok())
      return fail(std::move(shared).error().context("capture the files the tree shares"));
    ProcessImage files_image;
    files_image.pid = 0;
    std::move(*shared).move_into(files_image);
    tree_files = encode_image(files_image);
  }
  // One image per live member, in tree order.
  std::vector<ProcessImage> images;
  std::vector<size_t> image_member;
  for (size_t i = 0; i < tree.members.size(); i++) {
    const int p = frozen.process_of()[i];
    if (p < 0)
      continue;
    auto image = capture_process(frozen.processes()[static_cast<size_t>(p)], pre.smaps[i],
                                 !postcopy, &sharing->slot_of[i], &sharing->contents_slot);
    if (!image.ok()) {
      Error e = std::move(image).error().context("capture");
      return fail(i == 0 ? e
                         : e.context("child PID " + std::to_string(pre.scan.host_pids[i])));
    }
    images.push_back(std::move(image).value());
    image_member.push_back(i);
    if (auto st = check_caller(opts, "during the capture"); !st.ok())
      return fail(std::move(st).error());
  }
  const uint64_t t_captured = now_ns();
  stats.capture_ms = ns_to_ms(t_captured - t_frozen);
  for (const auto &im : images) {
    stats.pages_total += total_pages(im.pages);
    auto encoded = encode_image(im);
    stats.image_bytes += encoded.size();
    stats.bytes += encoded.size();
    if (auto st = conn.send(wire::Type::image, encoded); !st.ok())
      return fail(std::move(st).error());
  }
  if (is_tree) {
    stats.bytes += tree_files.size();
    if (auto st = conn.send(wire::Type::tree_files, tree_files); !st.ok())
      return fail(std::move(st).error());
  }
  if (auto r = expect(conn, buf, wire::Type::ready, "restoring"); !r.ok())
    return fail(std::move(r).error());

  // Stop-copy: every page now. Post-copy: only the private file pages (the
  // image lists no others); anonymous memory follows lazily. Each member's
  // pages end with pages_end.
  report(opts, LMIG_PHASE_TRANSFER, 0, stats.pages_total);
  uint64_t pages_before = 0;
  for (size_t k = 0; k < images.size(); k++) {
    PageStreamer streamer(pre.scan.host_pids[image_member[k]], conn);
    auto st = streamer.send_runs(images[k].pages, [&](uint64_t done) {
      report(opts, LMIG_PHASE_TRANSFER, pages_before + done, stats.pages_total);
    });
    if (!st.ok())
      return fail(std::move(st).error());
    pages_before += streamer.pages_sent();
    stats.pages_sent += streamer.pages_sent();
    stats.bytes += streamer.bytes_sent();
    // The last pages_end lets the target run the processes: from here on,
    // should we die, they stay stopped rather than run next to it.
    if (k + 1 == images.size()) {
      if (auto st = check_caller(opts, "while the image was sent"); !st.ok())
        return fail(std::move(st).error());
      if (auto st = frozen.arm_stop(); !st.ok())
        return fail(std::move(st).error());
    }
    if (auto s = conn.send(wire::Type::pages_end); !s.ok())
      return fail(std::move(s).error());
  }

  // The target may now run the processes. Only its word settles it.
  report(opts, LMIG_PHASE_RESTORE, stats.pages_total, stats.pages_total);
  uint64_t t_running = 0;
  auto on_running = [&](const wire::Running &running) {
    t_running = now_ns();
    stats.target_pid = running.target_pid;
    stats.target_vpid = running.vpid;
    stats.downtime_ms = ns_to_ms(t_running - t0);
    stats.restore_ms = ns_to_ms(t_running - t_captured);
    report(opts, LMIG_PHASE_RUNNING, stats.pages_total, stats.pages_total);
  };
  const std::string which =
      is_tree ? "the source process " + std::to_string(pid) + " and the " +
                    std::to_string(tree.live() - 1) + " other live processes of its tree are"
              : "the source process " + std::to_string(pid) + " is";
  // An error that reaches us: did the target say it failed before running
  // the process (then nothing runs there and the source resumes), or is the
  // outcome unknown (then the source is parked, never resumed)?
  auto after_pages = [&](Error e, bool running_seen) -> Status {
    if (!running_seen && e.side == Side::target) {
      (void)frozen.resume();
      return e;
    }
    (void)frozen.park_stopped();
    if (running_seen)
      return e.context("post-copy failed after the switchover; " + which +
                       " left stopped (SIGSTOP)");
    return e.context("switchover outcome unknown; " + which +
                     " left stopped (SIGSTOP): check the target, then kill or continue");
  };

  if (postcopy) {
    // Serve each member's memory until the target has all of it.
    const bool rdma_redial_fails = test_knob("LMIG_TEST_RDMA_REDIAL_FAILS") != 0;
    auto reconnect_for = [&](uint64_t member_session) {
      return [&, member_session](bool demand) -> Result<std::unique_ptr<Channel>> {
        const uint64_t deadline =
            now_ns() + static_cast<uint64_t>(opts.reconnect_timeout_ms) * 1000000ull;
        Error last = make_error(LMIG_ERR_CONNECT, "no attempt made");
        int rdma_attempts = 0;
        while (now_ns() < deadline) {
#ifdef LMIG_HAVE_RDMA
          // A lost RDMA link is dialled again; with auto, after a few tries
          // the channel falls back to TCP (the target takes either).
          if (use_rdma && (opts.transport == LMIG_TRANSPORT_RDMA || rdma_attempts < 3)) {
            rdma_attempts++;
            auto r = rdma_redial_fails // test-only: as if the RDMA path were gone
                         ? Result<std::unique_ptr<Channel>>(
                               make_error(LMIG_ERR_CONNECT, "RDMA re-dial refused (test)"))
                         : dial_rdma(ep, opts, member_session, demand, secret);
            if (r.ok())
              return r;
            last = std::move(r).error();
            if (last.side == Side::target)
              return last;
            ::usleep(100000);
            continue;
          }
#endif
          (void)rdma_attempts;
          (void)rdma_redial_fails;
          auto c = connect_and_greet(ep, opts, member_session,
                                     demand ? wire::Role::control_reconnect
                                            : wire::Role::bulk_reconnect,
                                     secret);
          if (c.ok())
            return source_channel(std::move(c).value(), demand);
          last = std::move(c).error();
          if (last.side == Side::target)
            return last; // the target refused: its side of the migration is over
          ::usleep(100000);
        }
        return last.context("could not reach the target again within " +
                            std::to_string(opts.reconnect_timeout_ms) + " ms");
      };
    };
    auto config_for = [&](size_t k) {
      const ProcessImage &im = images[k];
      PageServer::Config pc;
      pc.pid = pre.scan.host_pids[image_member[k]];
      for (const auto &v : im.vmas)
        if (v.kind == VmaKind::anon)
          pc.regions.push_back(v);
      pc.stack_hint = im.threads.front().regs[kRsp];
      pc.corrupt_every = test_knob("LMIG_TEST_CORRUPT_EVERY");
      pc.corrupt_retries = test_knob("LMIG_TEST_CORRUPT_RETRIES") != 0;
      pc.push_delay_ms = static_cast<uint32_t>(test_knob("LMIG_TEST_PUSH_DELAY_MS"));
      pc.drop_bulk_after = test_knob("LMIG_TEST_DROP_BULK_AFTER");
      pc.reconnect =
          reconnect_for(k == 0 ? session : tree.members[image_member[k]].session);
      return pc;
    };
    Result<std::unique_ptr<Channel>> demand_channel =
        use_rdma ? Result<std::unique_ptr<Channel>>(std::move(rdma_demand))
                 : source_channel(std::move(conn), true);
    if (!demand_channel.ok())
      return after_pages(std::move(demand_channel).error(), false);
    Result<std::unique_ptr<Channel>> bulk_channel =
        use_rdma ? Result<std::unique_ptr<Channel>>(std::move(rdma_bulk))
                 : source_channel(std::move(bulk), false);
    if (!bulk_channel.ok())
      return after_pages(std::move(bulk_channel).error(), false);
    std::vector<std::unique_ptr<PageServer>> servers;
    servers.push_back(std::make_unique<PageServer>(config_for(0),
                                                   std::move(demand_channel).value(),
                                                   std::move(bulk_channel).value()));
    for (size_t k = 1; k < images.size(); k++) {
      auto &links = member_links[image_member[k]];
      servers.push_back(std::make_unique<PageServer>(config_for(k), std::move(links.demand),
                                                     std::move(links.bulk)));
    }
    // The other members are served on threads of their own; each ends when
    // the target has all of that member's memory.
    std::vector<Result<wire::Done>> done(servers.size(),
                                         make_error(LMIG_ERR_SYSTEM, "not served"));
    std::vector<std::thread> threads;
    for (size_t k = 1; k < servers.size(); k++)
      threads.emplace_back([&, k] { done[k] = servers[k]->run([](const wire::Running &) {}); });
    done[0] = servers[0]->run(on_running);
    for (auto &t : threads)
      t.join();
    bool running_seen = false;
    for (auto &s : servers)
      running_seen |= s->saw_running();
    for (size_t k = 0; k < servers.size(); k++)
      if (!done[k].ok()) {
        Error e = std::move(done[k]).error();
        return after_pages(k == 0 ? e
                                  : e.context("child PID " +
                                              std::to_string(pre.scan.host_pids[image_member[k]])),
                           running_seen);
      }
    for (size_t k = 0; k < servers.size(); k++)
      add_postcopy_stats(stats, *done[k], *servers[k], k == 0);
    LMIG_TRY(frozen.kill());
    for (auto &s : servers)
      (void)s->demand().send(wire::Type::done); // the source copy is gone
  } else {
    auto r = expect(conn, buf, wire::Type::running, "waiting for the process to run");
    if (!r.ok())
      return after_pages(std::move(r).error(), false);
    LMIG_ASSIGN_OR_RETURN(auto running, wire::decode_running(buf));
    on_running(running);
    LMIG_TRY(frozen.kill());
    (void)conn.send(wire::Type::done);
  }
  stats.total_ms = ns_to_ms(now_ns() - t0);
  report(opts, LMIG_PHASE_DONE, stats.pages_total, stats.pages_total);
  return {};
}

} // namespace lmig

#include "engine/capture/proc_maps.hpp"
#include "engine/restore/cgroup_placement.hpp"
#include "engine/restore/target_session.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine/base/clock.hpp"
#include "engine/base/log.hpp"
#include "engine/image/image_codec.hpp"
#include "engine/image/process_tree.hpp"
#include "engine/lazy/lazy_pager.hpp"
#include "engine/restore/admission.hpp"
#include "engine/restore/page_installer.hpp"
#include "engine/restore/cpu_state.hpp"
#include "engine/restore/restore_plan.hpp"
#include "engine/restore/restored_tree.hpp"
#include "engine/restore/tree_plan.hpp"
#include "transport/frame_reader.hpp"
#include "transport/tcp_channel.hpp"
#include "transport/wire.hpp"

namespace lmig {

Status check_hello(const wire::Hello &h) {
  if (h.version != wire::kProtocolVersion)
    return make_error(LMIG_ERR_INCOMPATIBLE, "protocol version " + std::to_string(h.version) +
                                                 " is not supported (this lmigd speaks " +
                                                 std::to_string(wire::kProtocolVersion) + ")");
  if (h.mode != LMIG_MODE_STOP_COPY && h.mode != LMIG_MODE_POSTCOPY)
    return make_error(LMIG_ERR_UNSUPPORTED, "mode " + std::to_string(h.mode) +
                                                " is not supported by this lmigd");
  CpuState cpu = local_cpu_state();
  if (uint64_t missing = h.xfeatures & ~cpu.xcr0) {
    char b[160];
    snprintf(b, sizeof b,
             "the source CPU uses register state this CPU lacks (XCR0 0x%llx vs 0x%llx, missing "
             "0x%llx)",
             static_cast<unsigned long long>(h.xfeatures),
             static_cast<unsigned long long>(cpu.xcr0),
             static_cast<unsigned long long>(missing));
    return make_error(LMIG_ERR_INCOMPATIBLE, b);
  }
  if (h.xstate_size > cpu.xsave_size)
    return make_error(LMIG_ERR_INCOMPATIBLE,
                      "the source's register state needs " + std::to_string(h.xstate_size) +
                          " bytes of XSAVE area, this CPU has " + std::to_string(cpu.xsave_size));
  return {};
}

wire::Hello target_hello() { return host_hello(); }

namespace {

Result<wire::Type> next(Connection &c, std::vector<uint8_t> &buf) {
  LMIG_ASSIGN_OR_RETURN(wire::Type t, c.recv(buf));
  if (t == wire::Type::error) {
    LMIG_ASSIGN_OR_RETURN(auto em, wire::decode_error(buf));
    return wire::peer_error(em, Side::source);
  }
  return t;
}

Error unexpected(wire::Type got, const char *while_doing) {
  return make_error(LMIG_ERR_PROTOCOL, std::string("source sent ") + wire::type_name(got) +
                                           " while " + while_doing);
}

// Receives page frames until pages_end and installs each into the process.
// A thread of the FrameReader receives and checks the next frames while
// this one installs; it reads ahead, so one reader serves every member.
Status receive_pages(FrameReader *reader, RestoredProcess &rp, int timeout_ms, uint64_t &pages) {
  PageInstaller installer(rp);
  for (;;) {
    LMIG_ASSIGN_OR_RETURN(Frame f, reader->next(timeout_ms));
    if (f.type == wire::Type::pages_end)
      break;
    if (f.type == wire::Type::error) {
      LMIG_ASSIGN_OR_RETURN(auto em, wire::decode_error(f.payload));
      return wire::peer_error(em, Side::source);
    }
    if (f.type != wire::Type::pages)
      return unexpected(f.type, "sending pages");
    wire::PagesHeader h;
    if (f.payload.size() < sizeof h)
      return make_error(LMIG_ERR_PROTOCOL, "pages frame shorter than its header");
    std::memcpy(&h, f.payload.data(), sizeof h);
    size_t len = f.payload.size() - sizeof h;
    if (h.npages == 0 || h.npages > wire::kMaxPagesPerFrame ||
        len != static_cast<size_t>(h.npages) * 4096 || h.addr % 4096)
      return make_error(LMIG_ERR_PROTOCOL, "malformed pages frame");
    if (!f.checksum_ok) {
      char b[96];
      snprintf(b, sizeof b, "checksum mismatch in %u pages at 0x%llx", h.npages,
               static_cast<unsigned long long>(h.addr));
      return make_error(LMIG_ERR_CHECKSUM, b);
    }
    LMIG_TRY(installer.install(h.addr, f.payload.data() + sizeof h, len));
    reader->release(f);
  }
  pages = installer.pages();
  return {};
}

// Test-only (documented in the README): the target fails right before it
// would run the processes, after every page the source sends first.
Status test_fail_run() {
  if (std::getenv("LMIG_TEST_FAIL_RUN"))
    return make_error(LMIG_ERR_TARGET_FAILED,
                      "refused to run the restored process (LMIG_TEST_FAIL_RUN)");
  return {};
}

} // namespace

Result<SessionOutcome> serve_migration(Connection &conn, const wire::Hello &hello,
                                       const SessionOptions &opts, SessionRegistry &registry,
                                       const Key &secret) {
  conn.set_io_timeout(opts.io_timeout_ms);
  const std::string peer = conn.peer(); // the connection moves into a channel later
  std::vector<uint8_t> buf;
  // Any failure is reported to the source before we give up.
  auto tell = [&](Error e) -> Error {
    if (e.side != Side::source) {
      wire::ErrorMsg m{static_cast<uint32_t>(e.code), e.sys_errno, e.message};
      (void)conn.send(wire::Type::error, wire::encode(m));
    }
    return e;
  };

  if (auto st = check_hello(hello); !st.ok())
    return tell(std::move(st).error());
  // Before the source freezes anything: a process that cannot fit here
  // would be OOM-killed on its way in.
  if (auto st = admit_memory(hello.memory_bytes); !st.ok())
    return tell(std::move(st).error());
  const bool postcopy = hello.mode == LMIG_MODE_POSTCOPY;
  const char *mode_name = postcopy ? "post-copy" : "stop-copy";
  std::unique_ptr<SessionRegistry::Ticket> ticket;
  if (postcopy) {
    auto t = registry.open(hello.session, secret);
    if (!t.ok())
      return tell(std::move(t).error());
    ticket = std::move(t).value();
  }
  LMIG_INFO("%s: hello from %s (kernel %s), session %llx, mode %s%s", peer.c_str(),
            hello.host.c_str(), hello.kernel.c_str(),
            static_cast<unsigned long long>(hello.session), mode_name,
            postcopy && opts.rdma && (hello.features & wire::kFeatureRdma) ? " over RDMA" : "");
  // RDMA when the source asks and this server takes it.
  const bool use_rdma = postcopy && opts.rdma && (hello.features & wire::kFeatureRdma);
  wire::Hello ack = target_hello();
  if (use_rdma)
    ack.features |= wire::kFeatureRdma;
  if (auto st = conn.send(wire::Type::hello_ack, wire::encode(ack)); !st.ok())
    return std::move(st).error();

  auto t = next(conn, buf);
  if (!t.ok())
    return tell(std::move(t).error());
  // A process tree is announced before its images; each live member but
  // the root has a session of its own for its post-copy channels.
  ProcessTree tree;
  std::vector<std::unique_ptr<SessionRegistry::Ticket>> member_tickets;
  if (*t == wire::Type::tree) {
    auto decoded = decode_tree(buf);
    if (!decoded.ok())
      return tell(std::move(decoded).error());
    tree = std::move(decoded).value();
    member_tickets.resize(tree.members.size());
    if (postcopy)
      for (size_t i = 1; i < tree.members.size(); i++)
        if (!tree.members[i].zombie) {
          auto mt = registry.open(tree.members[i].session, secret);
          if (!mt.ok())
            return tell(std::move(mt).error());
          member_tickets[i] = std::move(mt).value();
        }
    if (auto st = conn.send(wire::Type::ready); !st.ok())
      return std::move(st).error();
    t = next(conn, buf);
    if (!t.ok())
      return tell(std::move(t).error());
  }
  if (*t != wire::Type::image)
    return tell(unexpected(*t, "expecting the image"));
  const uint64_t t_image = now_ns();
  // Where the restore's time goes, for the log line that says it runs.
  std::string phases;
  uint64_t t_phase = t_image;
  auto phase = [&](const char *name) {
    uint64_t t = now_ns();
    char b[48];
    snprintf(b, sizeof b, "%s%s %.1f", phases.empty() ? "" : ", ", name, ns_to_ms(t - t_phase));
    phases += b;
    t_phase = t;
  };
  std::vector<ProcessImage> images;
  for (;;) {
    auto image = decode_image(buf);
    if (!image.ok())
      return tell(std::move(image).error());
    images.push_back(std::move(image).value());
    if (images.size() >= std::max<size_t>(tree.live(), 1))
      break;
    t = next(conn, buf);
    if (!t.ok())
      return tell(std::move(t).error());
    if (*t != wire::Type::image)
      return tell(unexpected(*t, "expecting the images of a process tree"));
  }
  // The open files the members share, made by the root for all of them.
  ProcessImage tree_files;
  if (tree.members.size() > 1) {
    t = next(conn, buf);
    if (!t.ok())
      return tell(std::move(t).error());
    if (*t != wire::Type::tree_files)
      return tell(unexpected(*t, "expecting the files of a process tree"));
    auto decoded = decode_tree_files(buf);
    if (!decoded.ok())
      return tell(std::move(decoded).error());
    tree_files = std::move(decoded).value();
  }
  const ProcessImage &root_image = images.front();
  if (tree.members.empty()) { // one process: a tree of its own
    TreeMember m;
    m.pid = root_image.pid;
    m.pgid = root_image.pid;
    m.sid = root_image.attrs.session_leader ? root_image.pid : 0;
    m.exit_signal = SIGCHLD;
    tree.members.push_back(m);
    member_tickets.resize(1);
  }
  uint64_t image_pages = 0;
  for (const auto &im : images)
    image_pages += total_pages(im.pages);
  LMIG_INFO("%s: image of PID %d (%s): %zu VMAs, %zu fds, %llu pages%s", peer.c_str(),
            root_image.pid, root_image.comm.c_str(), root_image.vmas.size(),
            root_image.fds.size(), static_cast<unsigned long long>(image_pages),
            tree.members.size() > 1
                ? (", with " + std::to_string(tree.members.size() - 1) + " process" +
                   (tree.members.size() > 2 ? "es" : "") + " under it (" +
                   std::to_string(tree.members.size() - tree.live()) + " zombie" +
                   (tree.members.size() - tree.live() == 1 ? "" : "s") + ")")
                      .c_str()
                : "");
  auto plan = plan_tree(images, tree_files, postcopy);
  if (!plan.ok())
    return tell(std::move(plan).error());
  if (!opts.cgroup_root.empty()) {
    auto mountinfo = read_proc_file("/proc/self/mountinfo");
    if (!mountinfo.ok())
      return tell(std::move(mountinfo).error());
    const auto mounts = cgroup_mounts(*mountinfo);
    for (size_t i = 0; i < images.size(); i++) {
      auto dirs = placement_dirs(images[i].attrs.cgroups, opts.cgroup_root, mounts);
      if (!dirs.ok())
        return tell(std::move(dirs).error().context("PID " + std::to_string(images[i].pid)));
      plan->members[i].cgroup_dirs = std::move(dirs).value();
      plan->members[i].cgroup_create = opts.cgroup_create;
    }
  }
  phase("decode+plan");
  auto restored = RestoredTree::start(tree, images, std::move(plan->members),
                                      plan->has_shared ? &plan->shared : nullptr,
                                      opts.io_timeout_ms);
  if (!restored.ok())
    return tell(std::move(restored).error());
  RestoredTree &rt = **restored;
  RestoredProcess &root = rt.root();
  // Post-copy channels of each live member, in the order of rt.members().
  std::vector<std::unique_ptr<Channel>> demands, bulks;
  std::vector<SessionRegistry::Ticket *> tickets;
  if (postcopy) {
    for (size_t i = 0; i < tree.members.size(); i++) {
      if (tree.members[i].zombie)
        continue;
      SessionRegistry::Ticket *tk = i == 0 ? ticket.get() : member_tickets[i].get();
      tickets.push_back(tk);
      std::unique_ptr<Channel> d;
      if (i > 0 || use_rdma) {
        auto dc = tk->wait(wire::Role::demand, opts.io_timeout_ms);
        if (!dc.ok())
          return tell(std::move(dc).error());
        d = std::move(dc).value();
      }
      demands.push_back(std::move(d));
      auto b = tk->wait(wire::Role::bulk, opts.io_timeout_ms);
      if (!b.ok())
        return tell(std::move(b).error());
      bulks.push_back(std::move(b).value());
    }
  }
  if (auto st = conn.send(wire::Type::ready); !st.ok())
    return std::move(st).error();

  phase("spawn+map");
  uint64_t pages = 0;
  {
    auto reader =
        FrameReader::start(conn.fd(), conn.peer(), 32u << 20, rt.members().size(),
                           conn.crypto());
    if (!reader.ok())
      return tell(std::move(reader).error());
    for (auto &member : rt.members()) {
      uint64_t n = 0;
      if (auto st = receive_pages(reader->get(), member, opts.io_timeout_ms, n); !st.ok())
        return tell(std::move(st).error());
      pages += n;
    }
  }
  phase("pages");

  SessionOutcome out;
  out.vpid = root.vpid();
  out.comm = root_image.comm;
  if (!postcopy) {
    // Every page is in: the process runs without its userfaultfd, and
    // without the init holding a copy.
    if (auto st = rt.lifeline().disarm(opts.io_timeout_ms); !st.ok())
      return tell(std::move(st).error());
    for (auto &member : rt.members())
      member.release_uffd();
    if (auto st = test_fail_run(); !st.ok())
      return tell(std::move(st).error());
    if (auto st = rt.run(opts.io_timeout_ms); !st.ok())
      return tell(std::move(st).error());
    phase("run");
    const uint64_t restore_ns = now_ns() - t_image;
    out.pid = root.pid();
    out.init_pid = root.init_pid();
    out.init_pidfd = root.take_init_pidfd();
    LMIG_INFO("%s: PID %d (%s) runs here as PID %d after %llu pages (restore %.1f ms: %s)",
              peer.c_str(), out.vpid, out.comm.c_str(), out.pid,
              static_cast<unsigned long long>(pages), ns_to_ms(restore_ns), phases.c_str());
    wire::Running running{out.pid, out.vpid, restore_ns};
    if (auto st = conn.send(wire::Type::running, wire::encode(running)); !st.ok()) {
      LMIG_WARN("%s: the source did not hear that PID %d runs: %s", peer.c_str(),
                out.vpid, st.error().message.c_str());
      return out;
    }
    auto done = conn.recv(buf);
    if (!done.ok() || *done != wire::Type::done)
      LMIG_WARN("%s: no confirmation that the source copy of PID %d is gone", peer.c_str(),
                out.vpid);
    else
      LMIG_INFO("%s: migration of PID %d complete", peer.c_str(), out.vpid);
    return out;
  }

  // Post-copy: the pagers serve faults from the moment the restorers let go
  // (the kernel itself may touch a lazy page while finishing the restore).
  // Over TCP the control connection becomes the root's demand channel.
  if (!use_rdma) {
    auto c = TcpChannel::create(std::move(conn), TcpChannel::Receive::inline_assembly,
                                TcpChannel::Send::immediate, 1);
    if (!c.ok())
      return std::move(c).error();
    demands[0] = std::move(c).value();
  }
  std::vector<std::unique_ptr<LazyPager>> pagers;
  // The last pager to have every page of its member disarms the lifeline
  // before its `done` goes out: the source kills its copy only once it has
  // heard every member's, and from then on the processes may outlive us.
  std::mutex all_in_mu;
  size_t members_all_in = 0;
  auto before_done = [&]() -> Status {
    std::lock_guard lock(all_in_mu);
    if (++members_all_in < rt.members().size())
      return {};
    return rt.lifeline().disarm(opts.io_timeout_ms);
  };
  for (size_t k = 0; k < rt.members().size(); k++) {
    RestoredProcess &member = rt.members()[k];
    LazyPager::Config pc;
    pc.uffd = member.uffd();
    pc.peer = demands[k]->peer();
    pc.demand = std::move(demands[k]);
    pc.bulk = std::move(bulks[k]);
    pc.regions = member.plan().uffd_ranges;
    pc.huge_ranges = member.plan().huge_ranges;
    pc.before_done = before_done;
    // A child it forks meanwhile is held by the namespace init too.
    pc.keep_uffd = [&rt, peer](int fd) {
      if (auto st = rt.lifeline().hand_over(fd); !st.ok())
        LMIG_WARN("%s: %s", peer.c_str(), st.error().message.c_str());
    };
    pc.pid = member.pid();
    pc.io_timeout_ms = opts.io_timeout_ms;
    pc.reconnect_timeout_ms = opts.reconnect_timeout_ms;
    // A dropped channel comes back over RDMA or, falling back, TCP.
    pc.take_channel = [tk = tickets[k]](bool demand_channel) {
      auto c = tk->try_take(demand_channel ? wire::Role::demand : wire::Role::bulk);
      return c ? std::move(c)
               : tk->try_take(demand_channel ? wire::Role::control_reconnect
                                             : wire::Role::bulk_reconnect);
    };
    auto pager = LazyPager::start(std::move(pc));
    if (!pager.ok()) {
      for (auto &p : pagers)
        p->stop();
      return std::move(pager).error();
    }
    pagers.push_back(std::move(pager).value());
  }
  phase("pager");
  // From here the pagers own the links: errors go out through the root's.
  auto tell_pager = [&](Error e) -> Error {
    if (e.side != Side::source) {
      wire::ErrorMsg m{static_cast<uint32_t>(e.code), e.sys_errno, e.message};
      (void)pagers[0]->send(wire::Type::error, wire::encode(m));
    }
    return e;
  };
  auto any_failure = [&]() -> std::optional<Error> {
    for (auto &p : pagers)
      if (auto e = p->failure())
        return e;
    return std::nullopt;
  };
  Status ran = test_fail_run();
  if (ran.ok())
    ran = rt.run(opts.io_timeout_ms, any_failure);
  if (auto st = std::move(ran); !st.ok()) {
    for (auto &p : pagers)
      p->stop();
    return tell_pager(std::move(st).error());
  }
  phase("run");
  const uint64_t restore_ns = now_ns() - t_image;
  out.pid = root.pid();
  out.init_pid = root.init_pid();
  out.init_pidfd = root.take_init_pidfd();
  LMIG_INFO("%s: PID %d (%s) runs here as PID %d (restore %.1f ms: %s); its memory follows",
            peer.c_str(), out.vpid, out.comm.c_str(), out.pid, ns_to_ms(restore_ns),
            phases.c_str());
  Status sent;
  for (size_t k = 0; k < pagers.size(); k++) {
    RestoredProcess &member = rt.members()[k];
    wire::Running running{member.pid(), member.vpid(), restore_ns};
    if (auto st = pagers[k]->send(wire::Type::running, wire::encode(running));
        !st.ok() && sent.ok())
      sent = std::move(st);
  }
  std::vector<Result<wire::Done>> dones;
  for (auto &p : pagers)
    dones.push_back(sent.ok() ? p->wait() : Result<wire::Done>(sent.error()));
  for (size_t k = 0; k < dones.size(); k++) {
    if (dones[k].ok())
      continue;
    // The processes cannot go on without their memory: end them, say why.
    ::kill(out.init_pid, SIGKILL);
    for (auto &p : pagers)
      p->stop();
    Error e = std::move(dones[k]).error();
    return tell_pager(e.context("post-copy of PID " + std::to_string(rt.members()[k].vpid()) +
                                " failed; the half-migrated " +
                                (pagers.size() > 1 ? "processes were" : "process was") +
                                " killed"));
  }
  const wire::Done &d0 = *dones[0];
  uint64_t demand = 0, pushed = 0, zero = 0, retries = 0;
  for (const auto &d : dones) {
    demand += d->pages_demand;
    pushed += d->pages_pushed;
    zero += d->pages_zero;
    retries += d->checksum_retries;
  }
  LMIG_INFO("%s: post-copy of PID %d complete in %.1f ms: %llu pages on demand, %llu pushed, "
            "%llu zero, fault p50 %.1f us p99 %.1f us, %llu checksum retries%s",
            peer.c_str(), out.vpid, ns_to_ms(d0.postcopy_ns),
            static_cast<unsigned long long>(demand), static_cast<unsigned long long>(pushed),
            static_cast<unsigned long long>(zero), d0.fault_p50_us, d0.fault_p99_us,
            static_cast<unsigned long long>(retries),
            d0.reason == wire::kDoneProcessExited ? " (the process ended first)" : "");
  return out;
}

} // namespace lmig

#include "engine/restore/target_session.hpp"

#include <signal.h>

#include <cstring>

#include "engine/base/clock.hpp"
#include "engine/base/log.hpp"
#include "engine/image/image_codec.hpp"
#include "engine/lazy/lazy_pager.hpp"
#include "engine/lazy/uffd.hpp"
#include "engine/restore/page_installer.hpp"
#include "engine/restore/cpu_state.hpp"
#include "engine/restore/restore_plan.hpp"
#include "engine/restore/restored_process.hpp"
#include "transport/frame_reader.hpp"
#include "transport/tcp_channel.hpp"
#include "transport/wire.hpp"

namespace lmig {

Status check_hello(const wire::Hello &h, const SessionOptions &opts) {
  if (h.version != wire::kProtocolVersion)
    return make_error(LMIG_ERR_INCOMPATIBLE, "protocol version " + std::to_string(h.version) +
                                                 " is not supported (this lmigd speaks " +
                                                 std::to_string(wire::kProtocolVersion) + ")");
  if (!opts.auth_token.empty() && h.auth != opts.auth_token)
    return make_error(LMIG_ERR_INVALID_ARGUMENT, "authentication failed: wrong or missing token");
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
// this one installs.
Status receive_pages(Connection &conn, RestoredProcess &rp, int timeout_ms, uint64_t &pages) {
  LMIG_ASSIGN_OR_RETURN(auto reader, FrameReader::start(conn.fd(), conn.peer()));
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

} // namespace

Result<SessionOutcome> serve_migration(Connection &conn, const wire::Hello &hello,
                                       const SessionOptions &opts, SessionRegistry &registry) {
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

  if (auto st = check_hello(hello, opts); !st.ok())
    return tell(std::move(st).error());
  const bool postcopy = hello.mode == LMIG_MODE_POSTCOPY;
  const char *mode_name = postcopy ? "post-copy" : "stop-copy";
  std::unique_ptr<SessionRegistry::Ticket> ticket;
  if (postcopy) {
    auto t = registry.open(hello.session);
    if (!t.ok())
      return tell(std::move(t).error());
    ticket = std::move(t).value();
  }
  LMIG_INFO("%s: hello from %s (kernel %s), mode %s%s", peer.c_str(), hello.host.c_str(),
            hello.kernel.c_str(), mode_name,
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
  auto image = decode_image(buf);
  if (!image.ok())
    return tell(std::move(image).error());
  LMIG_INFO("%s: image of PID %d (%s): %zu VMAs, %zu fds, %llu pages", peer.c_str(),
            image->pid, image->comm.c_str(), image->vmas.size(), image->fds.size(),
            static_cast<unsigned long long>(total_pages(image->pages)));
  auto features = uffd::kernel_features();
  auto plan = plan_restore(*image, postcopy, features.ok(),
                           features.ok() ? uffd::postcopy_features(*features) : 0);
  if (!plan.ok())
    return tell(std::move(plan).error());
  phase("decode+plan");
  auto rp = RestoredProcess::start(*image, std::move(plan).value(), opts.io_timeout_ms);
  if (!rp.ok())
    return tell(std::move(rp).error());
  std::unique_ptr<Channel> bulk, rdma_demand;
  if (postcopy) {
    if (use_rdma) {
      auto d = ticket->wait(wire::Role::demand, opts.io_timeout_ms);
      if (!d.ok())
        return tell(std::move(d).error());
      rdma_demand = std::move(d).value();
    }
    auto b = ticket->wait(wire::Role::bulk, opts.io_timeout_ms);
    if (!b.ok())
      return tell(std::move(b).error());
    bulk = std::move(b).value();
  }
  if (auto st = conn.send(wire::Type::ready); !st.ok())
    return std::move(st).error();

  phase("spawn+map");
  uint64_t pages = 0;
  if (auto st = receive_pages(conn, *rp, opts.io_timeout_ms, pages); !st.ok())
    return tell(std::move(st).error());
  phase("pages");

  SessionOutcome out;
  out.vpid = rp->vpid();
  out.comm = image->comm;
  if (!postcopy) {
    rp->release_uffd(); // every page is in: the process runs without it
    if (auto st = rp->run(opts.io_timeout_ms); !st.ok())
      return tell(std::move(st).error());
    phase("run");
    const uint64_t restore_ns = now_ns() - t_image;
    out.pid = rp->pid();
    out.init_pid = rp->init_pid();
    out.init_pidfd = rp->take_init_pidfd();
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

  // Post-copy: the pager serves faults from the moment the restorer lets go
  // (the kernel itself may touch a lazy page while finishing the restore).
  // Over TCP the control connection becomes its demand channel.
  Result<std::unique_ptr<Channel>> demand =
      use_rdma ? Result<std::unique_ptr<Channel>>(std::move(rdma_demand))
               : [&]() -> Result<std::unique_ptr<Channel>> {
      LMIG_ASSIGN_OR_RETURN(auto c, TcpChannel::create(std::move(conn),
                                                       TcpChannel::Receive::inline_assembly,
                                                       TcpChannel::Send::immediate, 1));
      return std::unique_ptr<Channel>(std::move(c));
    }();
  if (!demand.ok())
    return std::move(demand).error();
  LazyPager::Config pc;
  pc.uffd = rp->uffd();
  pc.peer = (*demand)->peer();
  pc.demand = std::move(demand).value();
  pc.bulk = std::move(bulk);
  pc.regions = rp->plan().uffd_ranges;
  pc.huge_ranges = rp->plan().huge_ranges;
  pc.pid = rp->pid();
  pc.io_timeout_ms = opts.io_timeout_ms;
  pc.reconnect_timeout_ms = opts.reconnect_timeout_ms;
  // A dropped channel comes back over RDMA or, falling back, TCP.
  pc.take_channel = [t = ticket.get()](bool demand_channel) {
    auto c = t->try_take(demand_channel ? wire::Role::demand : wire::Role::bulk);
    return c ? std::move(c)
             : t->try_take(demand_channel ? wire::Role::control_reconnect
                                          : wire::Role::bulk_reconnect);
  };
  auto pager = LazyPager::start(std::move(pc));
  phase("pager");
  if (!pager.ok())
    return std::move(pager).error();
  // From here the pager owns the link: errors go out through it.
  auto tell_pager = [&](Error e) -> Error {
    if (e.side != Side::source) {
      wire::ErrorMsg m{static_cast<uint32_t>(e.code), e.sys_errno, e.message};
      (void)(*pager)->send(wire::Type::error, wire::encode(m));
    }
    return e;
  };
  if (auto st = rp->run(opts.io_timeout_ms, [&] { return (*pager)->failure(); }); !st.ok()) {
    (*pager)->stop();
    return tell_pager(std::move(st).error());
  }
  phase("run");
  const uint64_t restore_ns = now_ns() - t_image;
  out.pid = rp->pid();
  out.init_pid = rp->init_pid();
  out.init_pidfd = rp->take_init_pidfd();
  LMIG_INFO("%s: PID %d (%s) runs here as PID %d (restore %.1f ms: %s); its memory follows",
            peer.c_str(), out.vpid, out.comm.c_str(), out.pid, ns_to_ms(restore_ns),
            phases.c_str());
  wire::Running running{out.pid, out.vpid, restore_ns};
  auto sent = (*pager)->send(wire::Type::running, wire::encode(running));
  auto done = sent.ok() ? (*pager)->wait() : Result<wire::Done>(std::move(sent).error());
  if (!done.ok()) {
    // The process cannot go on without its memory: end it, say why.
    ::kill(out.init_pid, SIGKILL);
    Error e = std::move(done).error();
    return tell_pager(e.context("post-copy of PID " + std::to_string(out.vpid) +
                                " failed; the half-migrated process was killed"));
  }
  LMIG_INFO("%s: post-copy of PID %d complete in %.1f ms: %llu pages on demand, %llu pushed, "
            "%llu zero, fault p50 %.1f us p99 %.1f us, %llu checksum retries%s",
            peer.c_str(), out.vpid, ns_to_ms(done->postcopy_ns),
            static_cast<unsigned long long>(done->pages_demand),
            static_cast<unsigned long long>(done->pages_pushed),
            static_cast<unsigned long long>(done->pages_zero), done->fault_p50_us,
            done->fault_p99_us, static_cast<unsigned long long>(done->checksum_retries),
            done->reason == wire::kDoneProcessExited ? " (the process ended first)" : "");
  return out;
}

} // namespace lmig

#include "engine/source/migration.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include "engine/base/clock.hpp"
#include "engine/base/log.hpp"
#include "engine/capture/capture.hpp"
#include "engine/capture/freezer.hpp"
#include "engine/capture/precheck.hpp"
#include "engine/image/image_codec.hpp"
#include "engine/restore/cpu_state.hpp"
#include "engine/source/page_streamer.hpp"
#include "transport/tcp_connection.hpp"
#include "transport/wire.hpp"

namespace lmig {
namespace {

wire::Hello local_hello(const MigrateOptions &opts) {
  wire::Hello h;
  h.mode = static_cast<uint32_t>(opts.mode);
  h.features = wire::kFeatureStopCopy;
  CpuState cpu = local_cpu_state();
  h.xfeatures = cpu.xcr0;
  h.xstate_size = cpu.xsave_size;
  utsname u{};
  ::uname(&u);
  h.kernel = u.release;
  h.host = u.nodename;
  h.auth = opts.auth_token;
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
  if (o.progress)
    o.progress(o.progress_user, p, done, total);
}

// Tells the target we give up (best effort) so it tears its side down.
void send_abort(Connection &c, const Error &e) {
  wire::ErrorMsg m{static_cast<uint32_t>(e.code), e.sys_errno, "source gave up: " + e.message};
  (void)c.send(wire::Type::error, wire::encode(m));
}

} // namespace

Status migrate_process(pid_t pid, const MigrateOptions &opts, lmig_stats &stats) {
  stats.mode = opts.mode;
  stats.source_pid = pid;
  if (opts.mode != LMIG_MODE_STOP_COPY)
    return make_error(LMIG_ERR_UNSUPPORTED, "post-copy is not available yet; use stop-copy");
  LMIG_TRY(precheck(pid));
  LMIG_ASSIGN_OR_RETURN(Endpoint ep, parse_endpoint(opts.destination));

  // Reach the target and agree before touching the process.
  LMIG_ASSIGN_OR_RETURN(Connection conn, Connection::connect(ep, opts.connect_timeout_ms));
  conn.set_io_timeout(opts.io_timeout_ms);
  std::vector<uint8_t> buf;
  LMIG_TRY(conn.send(wire::Type::hello, wire::encode(local_hello(opts))));
  LMIG_TRY(expect(conn, buf, wire::Type::hello_ack, "greeting"));
  LMIG_ASSIGN_OR_RETURN(auto peer, wire::decode_hello(buf));
  if (peer.version != wire::kProtocolVersion)
    return make_error(LMIG_ERR_INCOMPATIBLE, "target speaks protocol version " +
                                                 std::to_string(peer.version));

  const uint64_t t0 = now_ns();
  report(opts, LMIG_PHASE_FREEZE, 0, 0);
  LMIG_ASSIGN_OR_RETURN(FrozenProcess frozen, FrozenProcess::freeze(pid));
  const uint64_t t_frozen = now_ns();
  stats.freeze_ms = ns_to_ms(t_frozen - t0);

  // From here on until pages_end, any failure resumes the process (the
  // FrozenProcess destructor detaches).
  auto fail = [&](Error e) -> Status {
    send_abort(conn, e);
    (void)frozen.resume();
    return e;
  };
  report(opts, LMIG_PHASE_CAPTURE, 0, 0);
  auto image = capture_process(frozen);
  if (!image.ok())
    return fail(std::move(image).error().context("capture"));
  const uint64_t t_captured = now_ns();
  stats.capture_ms = ns_to_ms(t_captured - t_frozen);
  stats.pages_total = total_pages(image->pages);
  auto encoded = encode_image(*image);
  stats.image_bytes = encoded.size();
  if (auto st = conn.send(wire::Type::image, encoded); !st.ok())
    return fail(std::move(st).error());
  if (auto r = expect(conn, buf, wire::Type::ready, "restoring"); !r.ok())
    return fail(std::move(r).error());

  report(opts, LMIG_PHASE_TRANSFER, 0, stats.pages_total);
  PageStreamer streamer(pid, conn);
  auto st = streamer.send_runs(image->pages, [&](uint64_t done) {
    report(opts, LMIG_PHASE_TRANSFER, done, stats.pages_total);
  });
  if (!st.ok())
    return fail(std::move(st).error());
  stats.pages_sent = streamer.pages_sent();
  stats.bytes = streamer.bytes_sent() + encoded.size();
  if (auto s = conn.send(wire::Type::pages_end); !s.ok())
    return fail(std::move(s).error());

  // The target may now run the process. Only its word settles it.
  report(opts, LMIG_PHASE_RESTORE, stats.pages_total, stats.pages_total);
  auto r = expect(conn, buf, wire::Type::running, "waiting for the process to run");
  if (!r.ok()) {
    Error e = std::move(r).error();
    if (e.side == Side::target) { // the target says it failed: nothing runs there
      (void)frozen.resume();
      return e;
    }
    (void)frozen.park_stopped();
    return e.context("switchover outcome unknown; the source process " + std::to_string(pid) +
                     " is left stopped (SIGSTOP): check the target, then kill or continue it");
  }
  const uint64_t t_running = now_ns();
  LMIG_ASSIGN_OR_RETURN(auto running, wire::decode_running(buf));
  stats.target_pid = running.target_pid;
  stats.target_vpid = running.vpid;
  stats.downtime_ms = ns_to_ms(t_running - t0);
  stats.restore_ms = ns_to_ms(t_running - t_captured);
  report(opts, LMIG_PHASE_RUNNING, stats.pages_total, stats.pages_total);

  LMIG_TRY(frozen.kill());
  (void)conn.send(wire::Type::done);
  stats.total_ms = ns_to_ms(now_ns() - t0);
  report(opts, LMIG_PHASE_DONE, stats.pages_total, stats.pages_total);
  return {};
}

} // namespace lmig

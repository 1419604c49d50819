// lmig_migrate, lmig_check and the small helpers of the C API.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/api/c_api_support.hpp"
#include "engine/capture/precheck.hpp"
#include "engine/source/migration.hpp"
#include "engine/worker/migration_worker.hpp"

using namespace lmig;

extern "C" lmig_status lmig_migrate(pid_t pid, const lmig_migrate_options *o, lmig_stats *stats,
                                    lmig_error *err) {
  if (!o || o->size < offsetof(lmig_migrate_options, destination) + sizeof(o->destination))
    return report_error(make_error(LMIG_ERR_INVALID_ARGUMENT, "options missing or too old"), err);
  if (!o->destination)
    return report_error(make_error(LMIG_ERR_INVALID_ARGUMENT, "no destination given"), err);
  MigrateOptions opts;
  opts.mode = o->mode;
  opts.destination = o->destination;
  if (LMIG_HAS_FIELD(o, lmig_migrate_options, connect_timeout_ms) && o->connect_timeout_ms)
    opts.connect_timeout_ms = static_cast<int>(o->connect_timeout_ms);
  if (LMIG_HAS_FIELD(o, lmig_migrate_options, io_timeout_ms) && o->io_timeout_ms)
    opts.io_timeout_ms = static_cast<int>(o->io_timeout_ms);
  if (LMIG_HAS_FIELD(o, lmig_migrate_options, auth_token))
    if (auto st = refuse_auth_token(o->auth_token); !st.ok())
      return report_error(st.error(), err);
  if (LMIG_HAS_FIELD(o, lmig_migrate_options, insecure)) {
    auto key = caller_psk(o->psk_file, o->psk, o->psk_len);
    if (!key.ok())
      return report_error(key.error(), err);
    opts.psk = std::move(key).value();
    opts.insecure = o->insecure != 0;
  }
  if (LMIG_HAS_FIELD(o, lmig_migrate_options, peer_name)) {
    auto id = caller_certs(o->cert_file, o->key_file, o->ca_file, o->cert_pem, o->key_pem,
                           o->ca_pem);
    if (!id.ok())
      return report_error(id.error(), err);
    opts.certs.identity = std::move(id).value();
    opts.certs.peer_name = o->peer_name ? o->peer_name : "";
  }
  // Test and benchmark builds measure the cost of encryption against this.
  opts.cleartext = std::getenv("LMIG_TEST_CLEARTEXT") != nullptr;
  if (LMIG_HAS_FIELD(o, lmig_migrate_options, reconnect_timeout_ms) && o->reconnect_timeout_ms)
    opts.reconnect_timeout_ms = static_cast<int>(o->reconnect_timeout_ms);
  if (LMIG_HAS_FIELD(o, lmig_migrate_options, transport))
    opts.transport = o->transport;
  if (opts.transport != LMIG_TRANSPORT_TCP && opts.transport != LMIG_TRANSPORT_RDMA &&
      opts.transport != LMIG_TRANSPORT_AUTO)
    return report_error(make_error(LMIG_ERR_INVALID_ARGUMENT, "unknown transport"), err);
  if (LMIG_HAS_FIELD(o, lmig_migrate_options, progress_user)) {
    opts.progress = o->progress;
    opts.progress_user = o->progress_user;
  }
  if (opts.mode != LMIG_MODE_STOP_COPY && opts.mode != LMIG_MODE_POSTCOPY)
    return report_error(make_error(LMIG_ERR_INVALID_ARGUMENT, "unknown mode"), err);
  lmig_stats local{};
  local.size = sizeof local;
  Status st = migrate_in_worker(pid, opts, local);
  if (stats && stats->size) {
    uint32_t keep = stats->size;
    std::memcpy(stats, &local, std::min<size_t>(keep, sizeof local));
    stats->size = keep;
  }
  if (!st.ok())
    return report_error(st.error(), err);
  return report_ok(err);
}

extern "C" lmig_status lmig_check(pid_t pid, lmig_error *err) {
  auto st = precheck(pid);
  if (!st.ok())
    return report_error(st.error(), err);
  return report_ok(err);
}

extern "C" lmig_status lmig_check_each(pid_t pid, lmig_blocker_fn blocker, void *user,
                                       lmig_error *err) {
  std::vector<Error> all = list_blockers(pid);
  if (all.empty())
    return report_ok(err);
  for (const auto &e : all) {
    if (!blocker)
      break;
    lmig_error one{};
    one.size = sizeof one;
    report_error(e, &one);
    blocker(user, &one);
  }
  return report_error(all.front(), err);
}

extern "C" const char *lmig_status_name(lmig_status s) {
  switch (s) {
  case LMIG_OK: return "ok";
  case LMIG_ERR_INVALID_ARGUMENT: return "invalid argument";
  case LMIG_ERR_NO_SUCH_PROCESS: return "no such process";
  case LMIG_ERR_NOT_MIGRATABLE: return "not migratable";
  case LMIG_ERR_UNSUPPORTED: return "unsupported";
  case LMIG_ERR_SYSTEM: return "system error";
  case LMIG_ERR_CONNECT: return "cannot connect";
  case LMIG_ERR_PROTOCOL: return "protocol error";
  case LMIG_ERR_CONNECTION_LOST: return "connection lost";
  case LMIG_ERR_TARGET_FAILED: return "target failed";
  case LMIG_ERR_INCOMPATIBLE: return "incompatible";
  case LMIG_ERR_CHECKSUM: return "checksum mismatch";
  case LMIG_ERR_TIMEOUT: return "timeout";
  case LMIG_ERR_IMAGE: return "bad image";
  case LMIG_ERR_CANCELLED: return "cancelled";
  case LMIG_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

extern "C" const char *lmig_version(void) { return LMIG_VERSION_STRING; }

extern "C" size_t lmig_stats_to_json(const lmig_stats *s, char *buf, size_t buflen) {
  std::string hist;
  for (int i = 0; i < LMIG_LATENCY_BUCKETS; i++)
    hist += (i ? "," : "") + std::to_string(s->fault_histogram[i]);
  char out[4096];
  int n = std::snprintf(
      out, sizeof out,
      "{\"mode\":\"%s\",\"transport\":\"%s\",\"source_pid\":%d,\"target_pid\":%d,\"target_vpid\":%d,"
      "\"downtime_ms\":%.3f,\"total_ms\":%.3f,\"freeze_ms\":%.3f,\"capture_ms\":%.3f,"
      "\"restore_ms\":%.3f,\"postcopy_ms\":%.3f,\"pages_total\":%llu,\"pages_sent\":%llu,"
      "\"pages_demand\":%llu,\"pages_prefetched\":%llu,\"pages_pushed\":%llu,\"pages_zero\":%llu,\"bytes\":%llu,"
      "\"image_bytes\":%llu,\"checksum_retries\":%llu,\"fault_p50_us\":%.2f,"
      "\"fault_p99_us\":%.2f,\"fault_max_us\":%.2f,\"fault_histogram_us_log2\":[%s],"
      "\"exit_status\":%d}",
      s->mode == LMIG_MODE_POSTCOPY ? "postcopy" : "stop-copy",
      s->size >= offsetof(lmig_stats, transport) + sizeof s->transport &&
              s->transport == LMIG_TRANSPORT_RDMA
          ? "rdma"
          : "tcp",
      s->source_pid, s->target_pid,
      s->target_vpid, s->downtime_ms, s->total_ms, s->freeze_ms, s->capture_ms, s->restore_ms,
      s->postcopy_ms, static_cast<unsigned long long>(s->pages_total),
      static_cast<unsigned long long>(s->pages_sent),
      static_cast<unsigned long long>(s->pages_demand),
      static_cast<unsigned long long>(s->size >= offsetof(lmig_stats, pages_prefetched) + 8
                                          ? s->pages_prefetched
                                          : 0),
      static_cast<unsigned long long>(s->pages_pushed),
      static_cast<unsigned long long>(s->pages_zero), static_cast<unsigned long long>(s->bytes),
      static_cast<unsigned long long>(s->image_bytes),
      static_cast<unsigned long long>(s->checksum_retries), s->fault_p50_us, s->fault_p99_us,
      s->fault_max_us, hist.c_str(),
      s->size >= offsetof(lmig_stats, exit_status) + sizeof s->exit_status ? s->exit_status : -1);
  size_t len = n < 0 ? 0 : static_cast<size_t>(n);
  if (buf && buflen) {
    size_t c = std::min(len, buflen - 1);
    std::memcpy(buf, out, c);
    buf[c] = '\0';
  }
  return len;
}

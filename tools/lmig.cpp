// lmig: move a running process to another host (source side).
#include <getopt.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lmig/lmig.h"
#include "tools/transport_option.hpp"

namespace {

void usage(FILE *f) {
  std::fprintf(f,
               "usage: lmig --stop-copy|--postcopy PID HOST:PORT [--json]\n"
               "            [--cert FILE --key FILE --ca FILE [--peer-name NAME]]\n"
               "            [--psk-file FILE] [--insecure]\n"
               "            [--connect-timeout MS] [--io-timeout MS] [--reconnect-timeout MS]\n"
               "            [--transport tcp|rdma|auto]   (post-copy channels; default tcp)\n"
               "       lmig --check PID\n"
               "\n"
               "Moves process PID to the lmigd listening at HOST:PORT. Exit status 0 only when\n"
               "the process runs on the target (and the source copy is gone).\n"
               "\n"
               "--psk-file FILE: the target must prove it holds this pre-shared key (the same\n"
               "file as lmigd's; mode 0600). Without one only a loopback target is taken,\n"
               "unless --insecure: then any target that answers gets the process.\n"
               "--cert FILE --key FILE --ca FILE: this host's certificate and key (PEM; the key\n"
               "mode 0600), and the CA that signed the target's: the target must show a\n"
               "certificate that CA signed for HOST (or for --peer-name NAME).\n");
}

bool parse_pid(const char *s, pid_t &out) {
  char *end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno || !end || *end || v <= 0 || v > 0x3fffffff)
    return false;
  out = static_cast<pid_t>(v);
  return true;
}

std::string json_escape(const char *s) {
  std::string o;
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      o += '\\';
    if (static_cast<unsigned char>(*s) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", *s);
      o += b;
      continue;
    }
    o += *s;
  }
  return o;
}

} // namespace

int main(int argc, char **argv) {
  enum { kStop = 1, kPost, kJson, kAuth, kConnTo, kIoTo, kCheck, kHelp, kVersion, kReconnTo, kTransport, kPskFile, kInsecure, kCert, kKey, kCa, kPeerName };
  static const option longopts[] = {
      {"stop-copy", no_argument, nullptr, kStop},
      {"postcopy", no_argument, nullptr, kPost},
      {"json", no_argument, nullptr, kJson},
      {"auth-token", required_argument, nullptr, kAuth},
      {"psk-file", required_argument, nullptr, kPskFile},
      {"insecure", no_argument, nullptr, kInsecure},
      {"cert", required_argument, nullptr, kCert},
      {"key", required_argument, nullptr, kKey},
      {"ca", required_argument, nullptr, kCa},
      {"peer-name", required_argument, nullptr, kPeerName},
      {"connect-timeout", required_argument, nullptr, kConnTo},
      {"io-timeout", required_argument, nullptr, kIoTo},
      {"reconnect-timeout", required_argument, nullptr, kReconnTo},
      {"transport", required_argument, nullptr, kTransport},
      {"check", no_argument, nullptr, kCheck},
      {"help", no_argument, nullptr, kHelp},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  lmig_migrate_options opts{};
  opts.size = sizeof opts;
  bool json = false, check = false;
  int mode = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
    case kStop: mode = LMIG_MODE_STOP_COPY; break;
    case kPost: mode = LMIG_MODE_POSTCOPY; break;
    case kJson: json = true; break;
    case kAuth: opts.auth_token = optarg; break; // refused, with what to use instead
    case kPskFile: opts.psk_file = optarg; break;
    case kInsecure: opts.insecure = 1; break;
    case kCert: opts.cert_file = optarg; break;
    case kKey: opts.key_file = optarg; break;
    case kCa: opts.ca_file = optarg; break;
    case kPeerName: opts.peer_name = optarg; break;
    case kConnTo: opts.connect_timeout_ms = static_cast<uint32_t>(std::atoi(optarg)); break;
    case kIoTo: opts.io_timeout_ms = static_cast<uint32_t>(std::atoi(optarg)); break;
    case kReconnTo: opts.reconnect_timeout_ms = static_cast<uint32_t>(std::atoi(optarg)); break;
    case kTransport:
      if (!parse_transport(optarg, opts.transport))
        return 2;
      break;
    case kCheck: check = true; break;
    case kHelp: usage(stdout); return 0;
    case kVersion: std::printf("lmig %s\n", lmig_version()); return 0;
    default: usage(stderr); return 2;
    }
  }
  pid_t pid = 0;
  lmig_error err{};
  err.size = sizeof err;
  if (check) {
    if (optind + 1 != argc || !parse_pid(argv[optind], pid)) {
      usage(stderr);
      return 2;
    }
    size_t blockers = 0;
    auto print = [](void *user, const lmig_error *b) {
      ++*static_cast<size_t *>(user);
      std::fprintf(stderr, "  %s\n", b->message);
    };
    std::fprintf(stderr, "lmig: checking PID %d and every process under it\n", pid);
    if (lmig_check_each(pid, print, &blockers, &err) != LMIG_OK) {
      std::fprintf(stderr, "lmig: PID %d cannot be migrated: %zu thing%s above stop%s it\n", pid,
                   blockers, blockers == 1 ? "" : "s", blockers == 1 ? "s" : "");
      return 1;
    }
    std::printf("PID %d can be migrated\n", pid);
    return 0;
  }
  if (!mode || optind + 2 != argc || !parse_pid(argv[optind], pid)) {
    if (optind < argc && !parse_pid(argv[optind], pid))
      std::fprintf(stderr, "lmig: '%s' is not a PID\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  opts.mode = static_cast<lmig_mode>(mode);
  opts.destination = argv[optind + 1];
  lmig_stats stats{};
  stats.size = sizeof stats;
  lmig_status st = lmig_migrate(pid, &opts, &stats, &err);
  if (st != LMIG_OK) {
    if (json)
      std::printf("{\"ok\":false,\"status\":\"%s\",\"side\":\"%s\",\"error\":\"%s\"}\n",
                  lmig_status_name(st),
                  err.side == LMIG_SIDE_TARGET ? "target"
                  : err.side == LMIG_SIDE_SOURCE ? "source"
                                                 : "local",
                  json_escape(err.message).c_str());
    std::fprintf(stderr, "lmig: migration of PID %d failed (%s): %s\n", pid, lmig_status_name(st),
                 err.message);
    return 1;
  }
  if (json) {
    char buf[8192];
    lmig_stats_to_json(&stats, buf, sizeof buf);
    std::printf("%s\n", buf);
    return 0;
  }
  double mib = static_cast<double>(stats.pages_total) * 4096.0 / (1 << 20);
  double secs = stats.downtime_ms / 1000.0;
  std::printf("migrated PID %d to %s (%s%s): runs there as PID %d (PID %d in its namespace)\n",
              pid, opts.destination, mode == LMIG_MODE_POSTCOPY ? "post-copy" : "stop-copy",
              mode != LMIG_MODE_POSTCOPY             ? ""
              : stats.transport == LMIG_TRANSPORT_RDMA ? " over RDMA"
                                                       : " over TCP",
              stats.target_pid, stats.target_vpid);
  std::printf("  downtime %.2f ms, total %.2f ms (freeze %.2f, capture %.2f, restore %.2f)\n",
              stats.downtime_ms, stats.total_ms, stats.freeze_ms, stats.capture_ms,
              stats.restore_ms);
  std::printf("  %llu pages (%.1f MiB), %llu bytes on the wire, %.2f GB/s\n",
              static_cast<unsigned long long>(stats.pages_total), mib,
              static_cast<unsigned long long>(stats.bytes),
              secs > 0 ? static_cast<double>(stats.bytes) / secs / 1e9 : 0.0);
  if (stats.exit_status >= 0)
    std::printf("  the process exited there by itself, with status %d, before it needed the "
                "rest of its memory\n",
                stats.exit_status);
  return 0;
}

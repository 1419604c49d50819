// lmigd: receives migrated processes (target side).
#include <getopt.h>
#include <signal.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lmig/lmig.h"
#include "tools/transport_option.hpp"

namespace {

lmig_server *g_server = nullptr;

void on_signal(int) { lmig_server_stop(g_server); }

void log_line(void *, lmig_log_level level, const char *line) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  std::fprintf(stderr, "lmigd %02d:%02d:%02d.%03ld %s: %s\n", t.tm_hour, t.tm_min, t.tm_sec,
               ts.tv_nsec / 1000000, names[level], line);
}

void usage(FILE *f) {
  std::fprintf(f, "usage: lmigd --listen HOST:PORT [--once] [--psk-file FILE] [--insecure]\n"
                  "             [--cert FILE --key FILE --ca FILE]\n"
                  "             [--cgroup-root DIR [--cgroup-create]]\n"
                  "             [--io-timeout MS] [--reconnect-timeout MS] [--port-file FILE]\n"
                  "             [--verbose] [--transport tcp|rdma|auto]  (post-copy channels over RDMA too)\n"
                  "\n"
                  "Receives migrated processes and runs them here. SIGTERM or SIGINT stop it;\n"
                  "processes it restored keep running.\n"
                  "\n"
                  "--psk-file FILE: sources must prove they hold this pre-shared key (mode 0600;\n"
                  "make one: head -c 32 /dev/urandom | base64 > FILE). Without one lmigd serves\n"
                  "only a loopback address, unless --insecure.\n"
                  "--cert FILE --key FILE --ca FILE: this host's certificate and key (PEM; the\n"
                  "key mode 0600), and the CA that signs sources' certificates: only a source\n"
                  "that shows one it signed is served.\n"
                  "--cgroup-root DIR: a restored process joins its source's cgroup path under\n"
                  "DIR (cgroup v2), made first with --cgroup-create; without it, lmigd's cgroup.\n");
}

} // namespace

int main(int argc, char **argv) {
  enum { kListen = 1, kOnce, kAuth, kIoTo, kPortFile, kVerbose, kHelp, kVersion, kReconnTo, kTransport, kPskFile, kInsecure, kCert, kKey, kCa, kCgroupRoot, kCgroupCreate };
  static const option longopts[] = {
      {"listen", required_argument, nullptr, kListen},
      {"once", no_argument, nullptr, kOnce},
      {"auth-token", required_argument, nullptr, kAuth},
      {"psk-file", required_argument, nullptr, kPskFile},
      {"insecure", no_argument, nullptr, kInsecure},
      {"cert", required_argument, nullptr, kCert},
      {"key", required_argument, nullptr, kKey},
      {"ca", required_argument, nullptr, kCa},
      {"cgroup-root", required_argument, nullptr, kCgroupRoot},
      {"cgroup-create", no_argument, nullptr, kCgroupCreate},
      {"io-timeout", required_argument, nullptr, kIoTo},
      {"reconnect-timeout", required_argument, nullptr, kReconnTo},
      {"transport", required_argument, nullptr, kTransport},
      {"port-file", required_argument, nullptr, kPortFile},
      {"verbose", no_argument, nullptr, kVerbose},
      {"help", no_argument, nullptr, kHelp},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  lmig_server_options opts{};
  opts.size = sizeof opts;
  opts.log = log_line;
  opts.log_level = LMIG_LOG_INFO;
  const char *port_file = nullptr;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, nullptr)) != -1) {
    switch (c) {
    case kListen: opts.listen = optarg; break;
    case kOnce: opts.once = 1; break;
    case kAuth: opts.auth_token = optarg; break; // refused, with what to use instead
    case kPskFile: opts.psk_file = optarg; break;
    case kInsecure: opts.insecure = 1; break;
    case kCert: opts.cert_file = optarg; break;
    case kKey: opts.key_file = optarg; break;
    case kCa: opts.ca_file = optarg; break;
    case kCgroupRoot: opts.cgroup_root = optarg; break;
    case kCgroupCreate: opts.cgroup_create = 1; break;
    case kIoTo: opts.io_timeout_ms = static_cast<uint32_t>(std::atoi(optarg)); break;
    case kReconnTo: opts.reconnect_timeout_ms = static_cast<uint32_t>(std::atoi(optarg)); break;
    case kTransport:
      if (!parse_transport(optarg, opts.transport))
        return 2;
      break;
    case kPortFile: port_file = optarg; break;
    case kVerbose: opts.log_level = LMIG_LOG_DEBUG; break;
    case kHelp: usage(stdout); return 0;
    case kVersion: std::printf("lmigd %s\n", lmig_version()); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (!opts.listen || optind != argc) {
    usage(stderr);
    return 2;
  }
  lmig_error err{};
  err.size = sizeof err;
  if (lmig_server_create(&opts, &g_server, &err) != LMIG_OK) {
    std::fprintf(stderr, "lmigd: %s\n", err.message);
    return 1;
  }
  if (port_file) {
    FILE *f = std::fopen(port_file, "w");
    if (!f) {
      std::perror("lmigd: port file");
      return 1;
    }
    std::fprintf(f, "%u\n", lmig_server_port(g_server));
    std::fclose(f);
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  lmig_status st = lmig_server_run(g_server, &err);
  lmig_server_destroy(g_server);
  if (st != LMIG_OK) {
    std::fprintf(stderr, "lmigd: %s\n", err.message);
    return 1;
  }
  return 0;
}

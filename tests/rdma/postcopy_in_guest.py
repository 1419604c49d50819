#!/usr/bin/env python3
"""Post-copy over RDMA, end to end, inside the rdma-vm guest (rxe0).

Run by run-in-vm.sh in the same guest run as perftest, whose figures it is
given. Both ends are in the guest; lmigd accepts RDMA on the rxe netdev's
address (assigned inside the throw-away guest).

- Acceptance: a 256 MiB process (files, pipe, handlers, mappings) moves with
  --postcopy --transport rdma and verifies every byte; --transport auto
  picks RDMA and says so.
- Figures, RDMA and TCP side by side in this guest run: remote fault latency
  (as the migrated process sees it, and as lmigd's pager reports it) against
  ib_write_lat -s 4096 plus a local userfaultfd fault, and post-copy
  throughput against ib_write_bw -s 65536. The guest is emulated (TCG):
  only ratios within this run mean anything.

Exits non-zero when a migration fails or a migrated process does not
verify; figures that miss a target are reported, not failed.
"""
import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time


def wait_file(path, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                text = f.read()
            if text.endswith("\n"):
                return text
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what}: nothing in {path} after {timeout} s")


def spawn(argv, **kw):
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, close_fds=True,
                            start_new_session=True, **kw)


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Scenario:
    def __init__(self, a, work):
        self.a, self.work = a, work
        self.failures = []
        self.lmigd_log = os.path.join(work, "lmigd.log")
        port_file = os.path.join(work, "port")
        # rxe0's address is not loopback: both ends prove a pre-shared key.
        self.psk = os.path.join(work, "psk")
        fd = os.open(self.psk, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, base64.b64encode(os.urandom(32)) + b"\n")
        os.close(fd)
        self.lmigd = spawn([a.lmigd, "--listen", f"{a.ip}:0", "--transport", "rdma",
                            "--port-file", port_file, "--psk-file", self.psk],
                           stdout=subprocess.DEVNULL, stderr=open(self.lmigd_log, "w"))
        self.port = int(wait_file(port_file, 30, "lmigd port"))
        self.dest = f"{a.ip}:{self.port}"

    def close(self):
        self.lmigd.send_signal(signal.SIGTERM)
        try:
            self.lmigd.wait(10)
        except subprocess.TimeoutExpired:
            kill(self.lmigd.pid)

    def migrate(self, pid, transport, extra_env=None, timeout=600):
        env = dict(os.environ, **(extra_env or {}))
        try:
            r = subprocess.run([self.a.lmig, "--postcopy", str(pid), self.dest, "--transport",
                                transport, "--json", "--psk-file", self.psk],
                               capture_output=True, text=True,
                               timeout=timeout, env=env)
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(f"lmig --transport {transport} still running after {timeout} s; "
                               f"its log:\n{(e.stderr or b'').decode(errors='replace')}\n"
                               f"lmigd's log:\n{self.log_tail()}")
        if r.returncode != 0:
            raise RuntimeError(f"lmig --transport {transport} failed: {r.stderr.strip()}\n"
                               f"lmigd's log:\n{self.log_tail()}")
        if extra_env:
            print(f"    lmig said: {r.stderr.strip()}", flush=True)
        return json.loads(r.stdout)

    def log_tail(self, n=15):
        return "".join(open(self.lmigd_log).readlines()[-n:])

    def wl_state(self, mib, transport, name, env=None, want_transport=None, timeout=600,
                 extra=()):
        d = tempfile.mkdtemp(dir=self.work)
        p = spawn([self.a.wl_state, "--dir", d, "--ready", f"{d}/ready", "--verdict",
                   f"{d}/verdict", "--mem", str(mib), *extra], stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
        target = None
        try:
            wait_file(f"{d}/ready", 600, f"{name}: workload")
            j = self.migrate(p.pid, transport, env, timeout)
            target = j["target_pid"]
            p.wait(30)
            os.kill(target, signal.SIGUSR1)
            deadline = time.monotonic() + 600
            verdict = ""
            while time.monotonic() < deadline and "seq=1" not in verdict:
                time.sleep(0.1)
                try:
                    verdict = open(f"{d}/verdict").read().strip()
                except FileNotFoundError:
                    pass
            want = want_transport or ("rdma" if transport != "tcp" else "tcp")
            ok = verdict.startswith("PASS") and j.get("transport") == want
            print(f"  {name}: transport {j.get('transport')}, downtime {j['downtime_ms']:.1f} ms, "
                  f"post-copy {j['postcopy_ms']:.0f} ms, {j['pages_total']} pages, "
                  f"verdict {verdict or 'none'}", flush=True)
            if not ok:
                self.failures.append(f"{name}: {verdict or 'no verdict'} over {j.get('transport')}")
            return j
        finally:
            kill(p.pid)
            if target:
                kill(target)

    def memhog(self, mib, transport, after=None):
        d = tempfile.mkdtemp(dir=self.work)
        argv = [self.a.memhog]
        results = f"{d}/results.json"
        if after:
            argv += ["--after-migration"] + after + ["--results", results]
        argv += [str(mib), f"{d}/ready", f"{d}/verdict"]
        p = spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = None
        try:
            wait_file(f"{d}/ready", 600, "memhog")
            j = self.migrate(p.pid, transport)
            target = j["target_pid"]
            p.wait(30)
            res = json.loads(wait_file(results, 600, "memhog results")) if after else {}
            os.kill(target, signal.SIGUSR1)
            verdict = wait_file(f"{d}/verdict", 600, "memhog verdict").strip()
            if not verdict.startswith("PASS"):
                self.failures.append(f"memhog over {transport}: {verdict}")
            return j, res
        finally:
            kill(p.pid)
            if target:
                kill(target)


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lmig", required=True)
    ap.add_argument("--lmigd", required=True)
    ap.add_argument("--wl-state", required=True)
    ap.add_argument("--memhog", required=True)
    ap.add_argument("--floor", required=True, help="postcopy_floor (for a local uffd fault)")
    ap.add_argument("--ip", required=True)
    ap.add_argument("--write-lat-us", type=float, required=True, help="ib_write_lat typical")
    ap.add_argument("--write-bw-mbs", type=float, required=True, help="ib_write_bw average")
    ap.add_argument("--acceptance-mib", type=int, default=256)
    ap.add_argument("--latency-mib", type=int, default=32)
    ap.add_argument("--touches", type=int, default=300)
    ap.add_argument("--throughput-mib", type=int, default=64)
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="lmig-rdma-pc.")
    s = Scenario(a, work)
    out = {"write_lat_us": a.write_lat_us, "write_bw_mbs": a.write_bw_mbs}
    try:
        print("== post-copy over RDMA, both ends in the guest ==", flush=True)
        s.wl_state(a.acceptance_mib, "rdma", f"{a.acceptance_mib} MiB process, --transport rdma")
        s.wl_state(8, "auto", "8 MiB process, --transport auto")
        # A tree: each member's memory over RDMA links of its own.
        s.wl_state(8, "rdma", "8 MiB process with a child sharing its files, --transport rdma",
                   extra=["--child"])
        # A lost RDMA link: dialled again, and with auto (RDMA refused, a
        # test-only switch) the push carries on over TCP.
        before = open(s.lmigd_log).read().count("bulk connection re-established")
        s.wl_state(16, "auto", "16 MiB process, bulk RDMA link lost, --transport auto",
                   env={"LMIG_TEST_DROP_BULK_AFTER": "40", "LMIG_TEST_RDMA_REDIAL_FAILS": "1",
                        "LMIG_TEST_PUSH_DELAY_MS": "0"}, timeout=180)
        after = open(s.lmigd_log).read().count("bulk connection re-established")
        if after <= before:
            s.failures.append("the lost bulk link was not re-established over TCP")

        fl = json.loads(subprocess.run([a.floor, "--only", "uffd_local", "--samples", "500"],
                                       capture_output=True, text=True, timeout=300).stdout)
        uffd_local = fl["uffd_local"]["blocking"]["p50_us"]
        out["uffd_local_p50_us"] = uffd_local
        floor_lat = a.write_lat_us + uffd_local
        for transport in ("rdma", "tcp"):
            j, res = s.memhog(a.latency_mib, transport, ["random", str(a.touches)])
            remote = res.get("remote", res.get("random", {}))
            mb = a.throughput_mib
            jt, _ = s.memhog(mb, transport)
            mbs = jt["pages_total"] * 4096 / 1e6 / (jt["postcopy_ms"] / 1000.0)
            out[transport] = {
                "workload_fault_p50_us": remote.get("p50_us"),
                "workload_fault_p99_us": remote.get("p99_us"),
                "pager_fault_p50_us": j["fault_p50_us"],
                "pager_fault_p99_us": j["fault_p99_us"],
                "postcopy_ms": jt["postcopy_ms"],
                "throughput_mbs": mbs,
            }
        print()
        print("== figures in this guest run (TCG: compare ratios only) ==")
        print(f"  floor: ib_write_lat -s 4096 {a.write_lat_us:.1f} us + local uffd fault "
              f"{uffd_local:.1f} us = {floor_lat:.1f} us; ib_write_bw -s 65536 {a.write_bw_mbs:.1f} MB/s")
        for t in ("rdma", "tcp"):
            f = out[t]
            wl = f["workload_fault_p50_us"] or float("nan")
            print(f"  {t:4}: fault p50 {wl:9.1f} us ({ratio(wl, floor_lat):.2f}x floor), "
                  f"pager p50 {f['pager_fault_p50_us']:9.1f} us ({ratio(f['pager_fault_p50_us'], floor_lat):.2f}x), "
                  f"throughput {f['throughput_mbs']:6.1f} MB/s ({ratio(f['throughput_mbs'], a.write_bw_mbs):.2f}x ib_write_bw)")
        out["targets"] = {
            "rdma_fault_p50_vs_floor": ratio(out["rdma"]["workload_fault_p50_us"] or 0, floor_lat),
            "rdma_throughput_vs_write_bw": ratio(out["rdma"]["throughput_mbs"], a.write_bw_mbs),
        }
        print("  targets: fault p50 <= 1.5x floor: %.2fx %s; throughput >= 0.8x ib_write_bw: %.2fx %s" % (
            out["targets"]["rdma_fault_p50_vs_floor"],
            "PASS" if out["targets"]["rdma_fault_p50_vs_floor"] <= 1.5 else "MISS",
            out["targets"]["rdma_throughput_vs_write_bw"],
            "PASS" if out["targets"]["rdma_throughput_vs_write_bw"] >= 0.8 else "MISS"))
        print(json.dumps({"rdma_postcopy": out}))
    except Exception as e:  # a migration that fails is a failure of the test
        s.failures.append(str(e))
    finally:
        s.close()
    if s.failures:
        print("FAILED:\n  " + "\n  ".join(s.failures))
        try:
            print("lmigd log:\n" + open(s.lmigd_log).read())
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
